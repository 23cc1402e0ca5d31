import type { WriteBackend } from '../backend/backend.js';
import type { OrgRef } from '../server/org-scope.js';
import { GateKey } from './approval-key.js';
import { Approvals } from './approvals.js';
import { AuditLog } from './audit.js';
import type { ChannelName } from './approvals.js';
import { WriteGate } from './gate.js';
import { requester } from './process-tree.js';

/** The gate's state in one state dir: the key, the audit log, and the approvals bound to both. */
export function gateStores(stateDir: string, env: NodeJS.ProcessEnv = process.env) {
  const key = new GateKey(stateDir, env);
  const audit = new AuditLog(stateDir, key, env);
  const approvals = new Approvals(stateDir, key, audit);
  return { key, audit, approvals };
}

/**
 * The gate a server runs with: its state dir, the approval settings, the client that launched this
 * process, and what it writes through (REST or the hosted endpoint) — the same for both modes.
 */
export function serverGate(
  settings: { stateDir: string; confirm: { channels: ChannelName[]; timeoutMs: number; waitMs: number; writeTimeoutMs: number } },
  env: NodeJS.ProcessEnv,
  target: { backend: WriteBackend; apiOrigin: string; currentOrg(signal?: AbortSignal): Promise<OrgRef> },
): WriteGate {
  const { audit, approvals } = gateStores(settings.stateDir, env);
  const { channels, timeoutMs, waitMs, writeTimeoutMs } = settings.confirm;
  return new WriteGate({
    backend: target.backend,
    audit,
    approvals,
    apiOrigin: target.apiOrigin,
    channels,
    confirmTimeoutMs: timeoutMs,
    waitMs,
    attemptMs: writeTimeoutMs,
    requester: requester(),
    env,
    currentOrg: (signal) => target.currentOrg(signal),
  });
}

import { GateKey } from './approval-key.js';
import { Approvals } from './approvals.js';
import { AuditLog } from './audit.js';

/** The gate's state in one state dir: the key, the audit log, and the approvals bound to both. */
export function gateStores(stateDir: string, env: NodeJS.ProcessEnv = process.env) {
  const key = new GateKey(stateDir, env);
  const audit = new AuditLog(stateDir, key, env);
  const approvals = new Approvals(stateDir, key, audit);
  return { key, audit, approvals };
}

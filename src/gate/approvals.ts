import { nodeCrypto } from '../util/node-crypto.js';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { readJsonFile, writeFileAtomic } from '../config/files.js';
import type { OrgRef } from '../server/org-scope.js';
import type { GateKey } from './approval-key.js';
import type { AuditLog } from './audit.js';
import { requestDigest } from './digest.js';
import { withLock } from './lock.js';
import { lazy } from '../util/lazy.js';
import type { ProcessId } from './process-tree.js';

export const APPROVAL_TTL_MS = 15 * 60_000;
const KEEP_MS = 24 * 60 * 60_000;
/** Margin past an attempt's deadline before another process may take over an "executing" approval. */
const TAKEOVER_MARGIN_MS = 5_000;

export const CHANNELS = ['elicitation', 'dialog', 'terminal'] as const;
export type ChannelName = (typeof CHANNELS)[number];

// Built on first use (util/lazy.ts): a server start reads no approval.
const Record_ = lazy(() =>
  z.object({
  id: z.string(),
  createdAt: z.string(),
  expiresAt: z.string(),
  status: z.enum(['pending', 'approved', 'rejected', 'executing', 'executed', 'failed']),
  apiOrigin: z.string(),
  org: z.object({ id: z.string(), slug: z.string(), name: z.string() }),
  tool: z.string(),
  /** The channel that asks (or asked) the human. */
  channel: z.enum(CHANNELS),
  request: z.union([
    z.object({ kind: z.literal('mcp'), tool: z.string(), arguments: z.record(z.string(), z.unknown()), hasDryRun: z.boolean(), hasIdempotencyKey: z.boolean() }).strict(),
    z.object({ method: z.enum(['POST', 'PATCH']), path: z.string(), body: z.unknown() }),
  ]),
  digest: z.string(),
  preview: z.record(z.string(), z.unknown()),
  summary: z.string(),
  idempotencyKey: z.string(),
  /** The AI client that asked (its shell must not approve). */
  requester: z.array(z.object({ pid: z.number(), started: z.string() })).default([]),
  decidedAt: z.string().optional(),
  decidedBy: z.string().optional(),
  executingSince: z.string().optional(),
  /** When the attempt that claimed it can no longer be in flight. */
  executingUntil: z.string().optional(),
  result: z.object({ httpStatus: z.number().nullable(), ids: z.array(z.string()) }).optional(),
  mac: z.string(),
}),
);
export type ApprovalRecord = z.infer<ReturnType<typeof Record_>>;
type Unsigned = Omit<ApprovalRecord, 'mac'>;

// No 0/O, 1/I/L: read aloud and typed by a human.
const ALPHABET = '23456789ABCDEFGHJKMNPQRSTUVWXYZ';

export function newApprovalCode(): string {
  let s = '';
  for (let i = 0; i < 6; i++) s += ALPHABET.charAt(nodeCrypto().randomInt(ALPHABET.length));
  return s;
}

export const normalizeCode = (code: string) => code.toUpperCase().replace(/[^0-9A-Z]/g, '');

/** A decision the lifecycle refuses; the message is for the model and the human alike. */
export class Refusal extends Error {}

/** An approval file that the lifecycle did not write (created, edited or replayed by something else). */
export class ForgedApproval extends Refusal {}

export interface NewApproval {
  apiOrigin: string;
  org: OrgRef;
  tool: string;
  channel: ChannelName;
  request: ApprovalRecord['request'];
  digest: string;
  preview: Record<string, unknown>;
  summary: string;
  requester: ProcessId[];
}

export interface ClaimContext {
  apiOrigin: string;
  /** The org pinned now, and the org of the call: both must be the approval's. */
  currentOrg: OrgRef;
  callOrg: OrgRef;
  /** How long one execution attempt may take, body included. */
  attemptMs: number;
  now?: number;
}

/**
 * The approval lifecycle, in one place: pending → approved | rejected; approved → executing →
 * executed | approved (the answer was lost: the same key may be sent again) | failed. Every
 * record is authenticated with the gate key; every change happens under the record's lock; the
 * audit log (anchored) is the source of truth for "was it sent".
 */
export class Approvals {
  readonly dir: string;

  constructor(
    stateDir: string,
    private readonly key: GateKey,
    private readonly audit: AuditLog,
  ) {
    this.dir = join(stateDir, 'approvals');
  }

  private file(id: string) {
    return join(this.dir, `${normalizeCode(id)}.json`);
  }

  async create(a: NewApproval, now = Date.now()): Promise<ApprovalRecord> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const record: Unsigned = {
      ...a,
      status: 'pending',
      idempotencyKey: `loopiq-mcp-${nodeCrypto().randomUUID()}`,
      id: await this.freeCode(),
      createdAt: new Date(now).toISOString(),
      expiresAt: new Date(now + APPROVAL_TTL_MS).toISOString(),
    };
    const signed = await this.sign(record);
    await writeFileAtomic(this.file(signed.id), JSON.stringify(signed, null, 2));
    await this.prune(now).catch(() => {});
    return signed;
  }

  /** The record, authenticated. Undefined when there is none; ForgedApproval when it fails verification. */
  async get(id: string): Promise<ApprovalRecord | undefined> {
    if (!/^[0-9A-Z]{6}$/.test(normalizeCode(id))) return undefined;
    let parsed: ApprovalRecord | undefined;
    try {
      parsed = await readJsonFile(this.file(id), (raw) => Record_().parse(raw));
    } catch {
      throw new ForgedApproval(`approval ${normalizeCode(id)} is not a record loopiq-mcp wrote; it was refused.`);
    }
    if (!parsed) return undefined;
    const { mac, ...rest } = parsed;
    if (normalizeCode(rest.id) !== normalizeCode(id) || !(await this.key.verify(rest, mac))) {
      throw new ForgedApproval(`approval ${normalizeCode(id)} was created or changed outside loopiq-mcp; it was refused.`);
    }
    return parsed;
  }

  /** Pending or approved, not expired, authentic: what a human may still act on. `forged` counts the rest. */
  async open(now = Date.now()): Promise<{ open: ApprovalRecord[]; forged: string[] }> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return { open: [], forged: [] };
    }
    const forged: string[] = [];
    const all = await Promise.all(
      names
        .filter((n) => n.endsWith('.json'))
        .map((n) =>
          this.get(n.slice(0, -5)).catch((err: unknown) => {
            if (err instanceof ForgedApproval) forged.push(n.slice(0, -5));
            return undefined;
          }),
        ),
    );
    const open = all
      .filter((a): a is ApprovalRecord => !!a && (a.status === 'pending' || a.status === 'approved') && Date.parse(a.expiresAt) > now)
      .sort((x, y) => x.createdAt.localeCompare(y.createdAt));
    return { open, forged };
  }

  /** The channel that carries a pending approval after this call returns. */
  handOver(id: string, channel: ChannelName): Promise<ApprovalRecord> {
    return this.transition(id, (a) => ({ ...a, channel }));
  }

  /** A human's decision on a pending approval. */
  decide(id: string, approve: boolean, by: string): Promise<ApprovalRecord> {
    return this.transition(id, (a) => {
      assertOpen(a);
      if (a.status !== 'pending' && !(a.status === 'approved' && !approve)) throw new Refusal(`approval ${a.id} is already ${a.status}.`);
      return { ...a, status: approve ? 'approved' : 'rejected', decidedAt: new Date().toISOString(), decidedBy: by };
    });
  }

  /**
   * Takes an approved record for one execution attempt. Refuses anything not approved, expired,
   * for another API or org, whose request no longer matches its digest, that the audit log shows
   * as already sent, or that another attempt may still have in flight.
   */
  async claim(id: string, ctx: ClaimContext): Promise<ApprovalRecord> {
    const now = ctx.now ?? Date.now();
    const intact = await this.audit.verify();
    if (!intact.ok) {
      throw new Refusal(`the audit log is broken at line ${intact.line} (${intact.reason}); writes are refused until the user runs \`loopiq-mcp audit --verify\` and fixes it.`);
    }
    const sent = await this.audit.lastExecution(normalizeCode(id));
    return this.transition(id, (a) => {
      if (a.status === 'executed' || sent?.outcome === 'executed') throw new Refusal('this approval was already used; each approval writes once.');
      if (a.status === 'rejected') throw new Refusal('the user rejected this request.');
      if (a.status === 'pending') throw new Refusal(`the user has not approved it yet: a dialog may still be open, or they run \`loopiq-mcp approve ${a.id}\` in a terminal.`);
      if (a.status === 'failed') throw new Refusal('this approved request already failed at LoopIQ; propose the write again.');
      const inFlightUntil = Math.max(Date.parse(a.executingUntil ?? '') || 0, sent?.outcome === 'executing' ? Date.parse(sent.time) + ctx.attemptMs + TAKEOVER_MARGIN_MS : 0);
      if ((a.status === 'executing' || sent?.outcome === 'executing') && now < inFlightUntil) {
        throw new Refusal(`this approval is being executed right now; if that attempt fails, it can be retried after ${new Date(inFlightUntil).toISOString()}.`);
      }
      if (Date.parse(a.expiresAt) <= now && a.status !== 'executing') throw new Refusal('the approval expired (15 minutes); propose the write again.');
      if (a.apiOrigin !== ctx.apiOrigin) throw new Refusal(`the approval was made for another LoopIQ API (${a.apiOrigin}).`);
      if (a.org.id !== ctx.currentOrg.id || a.org.id !== ctx.callOrg.id) {
        throw new Refusal('the selected organization changed since the approval; the approval is void (propose the write again).');
      }
      if (requestDigest({ org: a.org.id, ...a.request }) !== a.digest) throw new Refusal('the stored request does not match what was approved.');
      return {
        ...a,
        status: 'executing',
        executingSince: new Date(now).toISOString(),
        executingUntil: new Date(now + ctx.attemptMs + TAKEOVER_MARGIN_MS).toISOString(),
      };
    });
  }

  /** After an attempt: executed, or back to approved (the answer was lost; the same key is safe), or failed. */
  finish(id: string, outcome: { executed: ApprovalRecord['result'] } | { retryable: boolean }): Promise<ApprovalRecord> {
    return this.transition(id, (a) => {
      const { executingSince: _s, executingUntil: _u, ...rest } = a;
      if ('executed' in outcome) return { ...rest, status: 'executed', ...(outcome.executed ? { result: outcome.executed } : {}) };
      return { ...rest, status: outcome.retryable ? 'approved' : 'failed' };
    });
  }

  /** Read-verify-change-sign-write under the record's lock. The rules above are the only callers outside tests. */
  async transition(id: string, change: (a: ApprovalRecord) => Unsigned): Promise<ApprovalRecord> {
    return withLock(`${this.file(id)}.lock`, async () => {
      const current = await this.get(id);
      if (!current) throw new Refusal(`there is no approval "${normalizeCode(id)}".`);
      const { mac: _mac, ...next } = change(current) as ApprovalRecord;
      const signed = await this.sign(next);
      await writeFileAtomic(this.file(id), JSON.stringify(signed, null, 2));
      return signed;
    });
  }

  private async sign(record: Unsigned): Promise<ApprovalRecord> {
    return { ...record, mac: await this.key.mac(record) };
  }

  private async freeCode(): Promise<string> {
    for (;;) {
      const code = newApprovalCode();
      const taken = await stat(this.file(code)).then(
        () => true,
        () => false,
      );
      if (!taken) return code;
    }
  }

  /** Approvals are kept a day after they were made (for `approve` and support), then removed. */
  private async prune(now: number) {
    for (const name of await readdir(this.dir)) {
      if (!name.endsWith('.json')) continue;
      const path = join(this.dir, name);
      if (now - (await stat(path)).mtimeMs > KEEP_MS) await rm(path, { force: true });
    }
  }
}

export function assertOpen(a: ApprovalRecord, now = Date.now()) {
  if (a.status !== 'pending' && a.status !== 'approved') throw new Refusal(`approval ${a.id} is already ${a.status}.`);
  if (Date.parse(a.expiresAt) <= now) throw new Refusal(`approval ${a.id} expired at ${a.expiresAt}; ask the assistant to propose the write again.`);
}

import { randomInt } from 'node:crypto';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { readJsonFile, writeFileAtomic } from '../config/files.js';
import { withLock } from './lock.js';

export const APPROVAL_TTL_MS = 15 * 60_000;
const KEEP_MS = 24 * 60 * 60_000;
/** An execution that started this long ago without finishing is taken to have died. */
const EXECUTING_STALE_MS = 2 * 60_000;

const Pending = z.object({
  id: z.string(),
  createdAt: z.string(),
  expiresAt: z.string(),
  status: z.enum(['pending', 'approved', 'rejected', 'executing', 'executed', 'failed']),
  apiOrigin: z.string(),
  org: z.object({ id: z.string(), slug: z.string(), name: z.string() }),
  tool: z.string(),
  /** Which channel asked (or asks) the human. */
  channel: z.enum(['elicitation', 'dialog', 'terminal']),
  request: z.object({ method: z.enum(['POST', 'PATCH']), path: z.string(), body: z.unknown() }),
  digest: z.string(),
  preview: z.record(z.string(), z.unknown()),
  summary: z.string(),
  idempotencyKey: z.string(),
  decidedAt: z.string().optional(),
  decidedBy: z.string().optional(),
  executingSince: z.string().optional(),
  result: z.object({ httpStatus: z.number().nullable(), ids: z.array(z.string()) }).optional(),
});
export type PendingApproval = z.infer<typeof Pending>;

// No 0/O, 1/I/L: read aloud and typed by a human.
const ALPHABET = '23456789ABCDEFGHJKMNPQRSTUVWXYZ';

export function newApprovalCode(): string {
  let s = '';
  for (let i = 0; i < 6; i++) s += ALPHABET[randomInt(ALPHABET.length)];
  return s;
}

export const normalizeCode = (code: string) => code.toUpperCase().replace(/[^0-9A-Z]/g, '');

/**
 * Pending approvals as one file each in the state dir: written atomically, changed under a short
 * per-approval lock, so several server processes and the `approve` command can share them.
 */
export class ApprovalStore {
  readonly dir: string;

  constructor(stateDir: string) {
    this.dir = join(stateDir, 'approvals');
  }

  private file(id: string) {
    return join(this.dir, `${normalizeCode(id)}.json`);
  }

  async create(a: Omit<PendingApproval, 'id' | 'createdAt' | 'expiresAt' | 'status'> & { status?: 'pending' | 'approved' }, now = Date.now()): Promise<PendingApproval> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const full: PendingApproval = {
      status: 'pending',
      ...a,
      id: await this.freeCode(),
      createdAt: new Date(now).toISOString(),
      expiresAt: new Date(now + APPROVAL_TTL_MS).toISOString(),
    };
    await writeFileAtomic(this.file(full.id), JSON.stringify(full, null, 2));
    await this.prune(now).catch(() => {});
    return full;
  }

  /** Approvals are kept a day after they were made (for `approve` and support), then removed. */
  private async prune(now: number) {
    for (const name of await readdir(this.dir)) {
      if (!name.endsWith('.json')) continue;
      const path = join(this.dir, name);
      if (now - (await stat(path)).mtimeMs > KEEP_MS) await rm(path, { force: true });
    }
  }

  private async freeCode(): Promise<string> {
    for (;;) {
      const code = newApprovalCode();
      if (!(await this.get(code).catch(() => true))) return code;
    }
  }

  async get(id: string): Promise<PendingApproval | undefined> {
    if (!normalizeCode(id)) return undefined;
    return readJsonFile(this.file(id), (raw) => Pending.parse(raw));
  }

  /** Pending or approved, not expired: what a human may still act on. */
  async open(now = Date.now()): Promise<PendingApproval[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return [];
    }
    const all = await Promise.all(names.filter((n) => n.endsWith('.json')).map((n) => this.get(n.slice(0, -5)).catch(() => undefined)));
    return all
      .filter((a): a is PendingApproval => !!a && (a.status === 'pending' || a.status === 'approved') && Date.parse(a.expiresAt) > now)
      .sort((x, y) => x.createdAt.localeCompare(y.createdAt));
  }

  /** Read-check-write under the approval's lock. `change` returns the new record, or throws. */
  async transition(id: string, change: (a: PendingApproval) => PendingApproval): Promise<PendingApproval> {
    return withLock(`${this.file(id)}.lock`, async () => {
      const current = await this.get(id);
      if (!current) throw new Error(`no approval ${normalizeCode(id)}`);
      const next = change(current);
      await writeFileAtomic(this.file(id), JSON.stringify(next, null, 2));
      return next;
    });
  }

  static isExecutingStale(a: PendingApproval, now = Date.now()) {
    return a.status === 'executing' && (!a.executingSince || now - Date.parse(a.executingSince) > EXECUTING_STALE_MS);
  }
}

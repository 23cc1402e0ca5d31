import { appendFile, lstat, mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { redactDeep } from '../util/redact.js';
import type { GateKey } from './approval-key.js';
import { canonicalJson, sha256 } from './digest.js';
import { withLock } from './lock.js';
import { preferKeychain, type SecretSlot } from './secret-slot.js';

export type Outcome =
  | 'executing'
  | 'executed'
  | 'approval_required'
  | 'approval_pending'
  | 'approved'
  | 'rejected'
  | 'declined'
  | 'cancelled'
  | 'timed_out'
  | 'no_channel'
  | 'approval_invalid'
  | 'approval_refused'
  | 'preview_failed'
  | 'api_error';

export interface AuditEntry {
  time: string;
  /** The LoopIQ API origin (production, staging, or a local sandbox). */
  api: string;
  org: string;
  tool: string;
  digest: string;
  channel: string | null;
  outcome: Outcome;
  approvalId: string | null;
  requestId: string;
  idempotencyKey: string | null;
  httpStatus: number | null;
  resultIds: string[];
  detail?: string;
}

export interface AuditLine extends AuditEntry {
  prev: string;
  hash: string;
}

const GENESIS = '0'.repeat(64);

/** The audit log could not be written (or is unsafe): nothing may be sent. */
export class AuditUnavailable extends Error {
  constructor(
    readonly file: string,
    why: string,
  ) {
    super(`The audit log ${file} cannot be used: ${why}`);
  }
}

interface Anchor {
  lines: number;
  hash: string;
  mac: string;
}

export type VerifyResult = { ok: true; lines: number } | { ok: false; line: number; reason: string };

/**
 * `audit.jsonl`: one line per write attempt, each carrying the hash of the previous line. The end
 * is anchored outside the file (line count and last hash, authenticated, in the keychain), so an
 * edited, removed or truncated tail, or a deleted file, is detected. Never holds a token.
 */
export class AuditLog {
  readonly path: string;
  private readonly anchorSlot: () => Promise<SecretSlot>;

  constructor(
    private readonly dir: string,
    private readonly key: GateKey,
    env: NodeJS.ProcessEnv = process.env,
    anchorSlot?: () => Promise<SecretSlot>,
  ) {
    this.path = join(dir, 'audit.jsonl');
    if (anchorSlot) this.anchorSlot = anchorSlot;
    else {
      // Named on first use: hashing would load node:crypto, which a server start does not need.
      let slot: (() => Promise<SecretSlot>) | undefined;
      this.anchorSlot = () => (slot ??= preferKeychain(`audit-anchor:${sha256(this.path).slice(0, 16)}`, join(dir, 'audit.anchor'), env))();
    }
  }

  /** Refuses a state dir others can write and an audit log that is a symbolic link. */
  async assertSafe(): Promise<void> {
    try {
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      const d = await stat(this.dir);
      if (process.platform !== 'win32' && (d.mode & 0o002) !== 0) throw new AuditUnavailable(this.path, `its folder ${this.dir} is writable by every user. Run \`chmod 700 ${this.dir}\`.`);
      const f = await lstat(this.path).catch((err: unknown) => {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw err;
      });
      if (f?.isSymbolicLink()) throw new AuditUnavailable(this.path, 'it is a symbolic link. Move it away; loopiq-mcp writes only a regular file there.');
      if (f && process.platform !== 'win32' && (f.mode & 0o002) !== 0) throw new AuditUnavailable(this.path, `it is writable by every user. Run \`chmod 600 ${this.path}\`.`);
    } catch (err) {
      if (err instanceof AuditUnavailable) throw err;
      throw new AuditUnavailable(this.path, (err as Error).message);
    }
  }

  /** Appends one line and moves the anchor. Throws AuditUnavailable when the line was not written. */
  async append(entry: AuditEntry): Promise<AuditLine> {
    await this.assertSafe();
    try {
      return await withLock(`${this.path}.lock`, async () => {
        const raw = await this.readRaw();
        const check = await this.check(raw);
        // A broken log stays broken (verify reports it); new lines still chain to what is there.
        const last = raw.at(-1);
        let prev = GENESIS;
        if (last) {
          try {
            prev = (JSON.parse(last) as Partial<AuditLine>).hash ?? GENESIS;
          } catch {
            prev = sha256(last);
          }
        }
        const clean = redactDeep(entry);
        const line: AuditLine = { ...clean, prev, hash: sha256(prev + canonicalJson(clean)) };
        await appendFile(this.path, `${JSON.stringify(line)}\n`, { mode: 0o600, flag: 'a' });
        if (check.ok) await this.writeAnchor(raw.length + 1, line.hash);
        return line;
      });
    } catch (err) {
      if (err instanceof AuditUnavailable) throw err;
      throw new AuditUnavailable(this.path, (err as Error).message);
    }
  }

  async read(): Promise<AuditLine[]> {
    const out: AuditLine[] = [];
    for (const l of await this.readRaw()) {
      try {
        out.push(JSON.parse(l) as AuditLine);
      } catch {
        /* verify reports it */
      }
    }
    return out;
  }

  /** The first line (1-based) whose hash or link does not match, or a missing/extra tail. */
  async verify(): Promise<VerifyResult> {
    return this.check(await this.readRaw());
  }

  /** The newest execution-related outcome of one approval, from the log (the source of truth). */
  async lastExecution(approvalId: string): Promise<AuditLine | undefined> {
    const lines = await this.read();
    for (let i = lines.length - 1; i >= 0; i--) {
      const l = lines[i];
      if (l?.approvalId === approvalId && (l.outcome === 'executing' || l.outcome === 'executed' || l.outcome === 'api_error')) return l;
    }
    return undefined;
  }

  private async check(raw: string[]): Promise<VerifyResult> {
    let prev = GENESIS;
    for (const [i, line] of raw.entries()) {
      let parsed: AuditLine;
      try {
        parsed = JSON.parse(line) as AuditLine;
      } catch {
        return { ok: false, line: i + 1, reason: 'not valid JSON (the line was damaged)' };
      }
      const { prev: p, hash, ...entry } = parsed;
      if (p !== prev) return { ok: false, line: i + 1, reason: 'does not link to the previous line (a line was removed or reordered)' };
      if (sha256(p + canonicalJson(entry)) !== hash) return { ok: false, line: i + 1, reason: 'content does not match its hash (the line was edited)' };
      prev = hash;
    }
    const anchor = await this.readAnchor();
    if (anchor === 'forged') return { ok: false, line: raw.length, reason: 'the anchor of the log was altered' };
    if (anchor && raw.length < anchor.lines) {
      return { ok: false, line: raw.length + 1, reason: `${anchor.lines - raw.length} line(s) at the end were removed${raw.length === 0 ? ' (the whole log is gone)' : ''}` };
    }
    const anchoredLine = anchor && anchor.lines > 0 ? raw[anchor.lines - 1] : undefined;
    if (anchor && anchoredLine !== undefined) {
      const at = JSON.parse(anchoredLine) as AuditLine;
      if (at.hash !== anchor.hash) return { ok: false, line: anchor.lines, reason: 'the log was replaced (it does not end where it was anchored)' };
    }
    return { ok: true, lines: raw.length };
  }

  private async readAnchor(): Promise<Omit<Anchor, 'mac'> | null | 'forged'> {
    const raw = await (await this.anchorSlot()).get();
    if (!raw) return null;
    try {
      const a = JSON.parse(raw) as Anchor;
      const ok = await this.key.verify({ path: this.path, lines: a.lines, hash: a.hash }, a.mac);
      return ok ? { lines: a.lines, hash: a.hash } : 'forged';
    } catch {
      return 'forged';
    }
  }

  private async writeAnchor(lines: number, hash: string) {
    const mac = await this.key.mac({ path: this.path, lines, hash });
    await (await this.anchorSlot()).set(JSON.stringify({ lines, hash, mac }));
  }

  /** Starts a new, empty log after a human moved a broken one aside (`audit --reset`). */
  async resetAnchor(): Promise<void> {
    await withLock(`${this.path}.lock`, async () => {
      const raw = await this.readRaw();
      const last = raw.at(-1);
      await this.writeAnchor(raw.length, last ? (JSON.parse(last) as AuditLine).hash : GENESIS);
    });
  }

  private async readRaw(): Promise<string[]> {
    try {
      return (await readFile(this.path, 'utf8')).split('\n').filter((l) => l.length > 0);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new AuditUnavailable(this.path, (err as Error).message);
    }
  }
}

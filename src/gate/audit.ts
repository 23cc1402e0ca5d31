import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { canonicalJson, sha256 } from './digest.js';
import { withLock } from './lock.js';

export type Outcome =
  | 'executed'
  | 'approval_required'
  | 'declined'
  | 'cancelled'
  | 'timed_out'
  | 'no_channel'
  | 'approval_invalid'
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

/**
 * `audit.jsonl`: one line per write attempt, each carrying the hash of the previous line, so an
 * edited or removed line is detectable. Never holds a token.
 */
export class AuditLog {
  readonly path: string;

  constructor(private readonly dir: string) {
    this.path = join(dir, 'audit.jsonl');
  }

  async append(entry: AuditEntry): Promise<AuditLine> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    return withLock(`${this.path}.lock`, async () => {
      const lines = await this.readRaw();
      const last = lines.at(-1);
      const prev = last ? (JSON.parse(last) as AuditLine).hash : GENESIS;
      const line: AuditLine = { ...entry, prev, hash: sha256(prev + canonicalJson(entry)) };
      await appendFile(this.path, `${JSON.stringify(line)}\n`, { mode: 0o600 });
      return line;
    });
  }

  async read(): Promise<AuditLine[]> {
    return (await this.readRaw()).map((l) => JSON.parse(l) as AuditLine);
  }

  /** The first line (1-based) whose hash or link does not match, or null when intact. */
  async verify(): Promise<{ ok: true; lines: number } | { ok: false; line: number; reason: string }> {
    const raw = await this.readRaw();
    let prev = GENESIS;
    for (let i = 0; i < raw.length; i++) {
      let parsed: AuditLine;
      try {
        parsed = JSON.parse(raw[i]!) as AuditLine;
      } catch {
        return { ok: false, line: i + 1, reason: 'not valid JSON' };
      }
      const { prev: p, hash, ...entry } = parsed;
      if (p !== prev) return { ok: false, line: i + 1, reason: 'does not link to the previous line (a line was removed or reordered)' };
      if (sha256(p + canonicalJson(entry)) !== hash) return { ok: false, line: i + 1, reason: 'content does not match its hash (the line was edited)' };
      prev = hash;
    }
    return { ok: true, lines: raw.length };
  }

  private async readRaw(): Promise<string[]> {
    try {
      return (await readFile(this.path, 'utf8')).split('\n').filter((l) => l.length > 0);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  }
}

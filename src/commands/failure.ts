/**
 * The one place a failure becomes what the user reads: a message, a fix and an exit code. Never a
 * stack trace (only with LOOPIQ_LOG_LEVEL=debug), never a token (everything passes `redact`).
 */
import { LoopIqError } from '../api/errors.js';
import { inert } from '../util/inert.js';
import { Cancelled } from '../util/prompt.js';
import { redact } from '../util/redact.js';

export const EXIT = { ok: 0, failure: 1, usage: 2, cancelled: 130 } as const;

export interface Failure {
  /** Lines for stderr (empty: end quietly). */
  text: string;
  exitCode: number;
}

/** An error a command may throw when the user asked for something impossible (bad flag value, unknown verb). */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
  }
}

const ERRNO_FIX: Record<string, (e: NodeJS.ErrnoException) => { what: string; fix: string }> = {
  EADDRINUSE: (e) => ({ what: `the port is already in use${portOf(e)}`, fix: 'Stop whatever uses it, or choose another port (e.g. `--port 8788`).' }),
  EACCES: (e) => ({ what: `permission denied${pathOf(e)}`, fix: 'Check the file permissions, or choose another path or port.' }),
  EPERM: (e) => ({ what: `operation not permitted${pathOf(e)}`, fix: 'Check the file permissions, or choose another path.' }),
  EISDIR: (e) => ({ what: `${pathOf(e).trim() || 'the path'} is a directory, not a file`, fix: 'Give the path of the file itself (e.g. `--config-path ~/.cursor/mcp.json`).' }),
  ENOTDIR: (e) => ({ what: `a part of the path is not a directory${pathOf(e)}`, fix: 'Check the path.' }),
  ENOENT: (e) => ({ what: `no such file or directory${pathOf(e)}`, fix: 'Check the path.' }),
  EROFS: (e) => ({ what: `read-only file system${pathOf(e)}`, fix: 'Choose a writable location.' }),
  ENOSPC: () => ({ what: 'no space left on the device', fix: 'Free some disk space and run the command again.' }),
};

function pathOf(e: NodeJS.ErrnoException) {
  return e.path ? `: ${e.path}` : '';
}

function portOf(e: NodeJS.ErrnoException) {
  const port = (e as { port?: number }).port;
  return port !== undefined ? ` (port ${port})` : '';
}

export function isEpipe(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === 'EPIPE';
}

export function describeFailure(err: unknown, debug = false): Failure {
  if (isEpipe(err)) return { text: '', exitCode: EXIT.ok };
  if (err instanceof Cancelled) return { text: 'Cancelled; nothing was changed.\n', exitCode: EXIT.cancelled };
  if (err instanceof UsageError) return { text: `error: ${err.message}\n${err.hint}\n`, exitCode: EXIT.usage };
  // API text (a problem `detail`) may carry escape sequences: every line is rendered inert.
  if (err instanceof LoopIqError) return { text: `error: ${redact(err.describe().split('\n').map(inert).join('\n'))}\n`, exitCode: EXIT.failure };
  const known = errnoFix(err);
  if (known) {
    const { what, fix } = known;
    return { text: `error: ${redact(inert(what))}.\n${fix}\n`, exitCode: EXIT.failure };
  }
  if (err instanceof SyntaxError) {
    return {
      text: `error: a local file is not valid JSON (${redact(inert(err.message))}).\nIf it was edited by hand, restore it; \`loopiq-mcp doctor\` and \`loopiq-mcp audit --verify\` name the file.\n`,
      exitCode: EXIT.failure,
    };
  }
  const message = err instanceof Error ? err.message : String(err);
  const trace = debug && err instanceof Error && err.stack ? `\n${err.stack}` : '';
  return {
    text: `error: unexpected failure: ${redact(inert(message))}${redact(trace)}\nThis is a bug in loopiq-mcp; please report it${debug ? '' : ' (LOOPIQ_LOG_LEVEL=debug shows the details)'}.\n`,
    exitCode: EXIT.failure,
  };
}

/** What a system error (a Node error with an errno `code`) means for the user, when it is one we know. */
function errnoFix(err: unknown): { what: string; fix: string } | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const errno = err as NodeJS.ErrnoException;
  const known = typeof errno.code === 'string' ? ERRNO_FIX[errno.code] : undefined;
  return known?.(errno);
}

/** The nearest known name within a small edit distance, for "did you mean …". */
export function nearest(word: string, names: readonly string[]): string | undefined {
  let best: { name: string; d: number } | undefined;
  for (const name of names) {
    const d = distance(word.toLowerCase(), name);
    if (!best || d < best.d) best = { name, d };
  }
  return best && best.d <= Math.max(2, Math.floor(word.length / 3)) ? best.name : undefined;
}

/** Levenshtein distance, one row at a time: `prev` is the row for a's first i-1 characters. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  let result = b.length;
  for (let i = 1; i <= a.length; i++) {
    let diag = i - 1;
    let left = i;
    const row = [left];
    for (const [j, up] of prev.slice(1).entries()) {
      left = Math.min(up + 1, left + 1, diag + (a.charAt(i - 1) === b.charAt(j) ? 0 : 1));
      row.push(left);
      diag = up;
    }
    prev = row;
    result = left;
  }
  return result;
}

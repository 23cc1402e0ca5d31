/** Logs go to stderr only: stdout belongs to JSON-RPC (invariant 1). No known secret is ever written (invariant 2). */
import { redact } from './redact.js';

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 } as const;
type Level = keyof typeof LEVELS;

const isLevel = (s: string): s is Level => Object.hasOwn(LEVELS, s);
const threshold = (): number => {
  const level = process.env.LOOPIQ_LOG_LEVEL;
  return level !== undefined && isLevel(level) ? LEVELS[level] : LEVELS.info;
};

function write(level: Level, message: string) {
  if (LEVELS[level] < threshold()) return;
  process.stderr.write(`loopiq-mcp ${level}: ${redact(message)}\n`);
}

export const log = {
  debug: (m: string) => { write('debug', m); },
  info: (m: string) => { write('info', m); },
  warn: (m: string) => { write('warn', m); },
  error: (m: string) => { write('error', m); },
};

/** A stray console.log in any dependency must not corrupt the protocol stream. */
export function routeConsoleToStderr() {
  const toErr = (...args: unknown[]) => process.stderr.write(`${redact(args.map(String).join(' '))}\n`);
  console.log = toErr;
  console.info = toErr;
  console.debug = toErr;
  console.warn = toErr;
  console.error = toErr;
}

import { rename } from 'node:fs/promises';
import { DEFAULT_API_URL } from '../api/contract.js';
import { LoopIqError } from '../api/errors.js';
import { resolveSettings } from '../config/settings.js';
import { notAHuman } from '../gate/human.js';
import { gateStores } from '../gate/stores.js';
import { inert } from '../util/inert.js';
import { promptLine } from '../util/prompt.js';
import { processIo, type Io } from './context.js';

const DEFAULT_ORIGIN = new URL(DEFAULT_API_URL).origin;

/**
 * Shows the local write log; `--verify` checks its hash chain and anchored end (exit 1 when
 * broken); `--reset` (an interactive human only) moves a broken log aside and starts a new one.
 */
export async function audit(opts: { json?: boolean; verify?: boolean; reset?: boolean }, io: Io = processIo()): Promise<number> {
  const { audit: log } = gateStores((await resolveSettings({}, io.env)).stateDir, io.env);
  if (opts.reset) return reset(log, io);
  if (opts.verify) {
    const r = await log.verify();
    if (opts.json) io.stdout.write(`${JSON.stringify({ path: log.path, ...r })}\n`);
    else if (r.ok) io.stdout.write(`${log.path}: ${r.lines} line(s), hash chain intact, end matches its anchor.\n`);
    else io.stdout.write(`${log.path}: BROKEN at line ${r.line}: ${r.reason}.\nWrites are refused until it is fixed: restore the file, or run \`loopiq-mcp audit --reset\` in your terminal to keep it aside and start a new log.\n`);
    return r.ok ? 0 : 1;
  }
  const lines = await log.read();
  const intact = await log.verify();
  const broken = () => {
    if (intact.ok) return 0;
    io.stderr.write(`error: ${log.path} is BROKEN at line ${intact.line}: ${intact.reason}.\nRun \`loopiq-mcp audit --verify\`; writes are refused until it is fixed.\n`);
    return 1;
  };
  if (opts.json) {
    io.stdout.write(`${JSON.stringify(lines, null, 2)}\n`);
    return broken();
  }
  if (lines.length === 0) io.stdout.write(`No writes recorded yet (${log.path}).\n`);
  for (const l of lines) {
    const ids = l.resultIds.length ? ` → ${l.resultIds.map(inert).join(', ')}` : '';
    const where = l.api && l.api !== DEFAULT_ORIGIN ? `${inert(l.api)}  ` : '';
    const detail = l.detail ? `  [${inert(l.detail)}]` : '';
    io.stdout.write(
      `${inert(l.time)}  ${where}${inert(l.org)}  ${inert(l.tool)}  ${inert(l.outcome)}${l.channel ? ` via ${inert(l.channel)}` : ''}${l.httpStatus ? ` (${inert(String(l.httpStatus))})` : ''}${ids}${detail}\n`,
    );
  }
  return broken();
}

async function reset(log: ReturnType<typeof gateStores>['audit'], io: Io): Promise<number> {
  const problem = notAHuman(io as Parameters<typeof notAHuman>[0], { requester: [] });
  if (problem) throw new LoopIqError('approval_invalid', `audit --reset refused: ${problem}.`, 'Run it yourself, in your own terminal.');
  const r = await log.verify();
  if (r.ok) {
    io.stdout.write(`${log.path} is intact; nothing to reset.\n`);
    return 0;
  }
  io.stdout.write(`${log.path} is BROKEN at line ${r.line}: ${r.reason}.\n`);
  const answer = (await promptLine(io, 'Keep it aside and start a new, empty log? [y/N] ')).trim().toLowerCase();
  if (answer !== 'y' && answer !== 'yes') return 1;
  const aside = `${log.path}.broken-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  await rename(log.path, aside).catch((err: unknown) => {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  });
  await log.resetAnchor();
  io.stdout.write(`Kept the old log as ${aside}; a new log starts now.\n`);
  return 0;
}

import { resolveSettings } from '../config/settings.js';
import { DEFAULT_API_URL } from '../api/contract.js';
import { AuditLog } from '../gate/audit.js';

const DEFAULT_ORIGIN = new URL(DEFAULT_API_URL).origin;
import { processIo, type Io } from './context.js';

/** Shows the local write log; `--verify` checks its hash chain (exit 1 when broken). */
export async function audit(opts: { json?: boolean; verify?: boolean }, io: Io = processIo()): Promise<number> {
  const log = new AuditLog((await resolveSettings({}, io.env)).stateDir);
  if (opts.verify) {
    const r = await log.verify();
    if (opts.json) io.stdout.write(`${JSON.stringify({ path: log.path, ...r })}\n`);
    else if (r.ok) io.stdout.write(`${log.path}: ${r.lines} line(s), hash chain intact.\n`);
    else io.stdout.write(`${log.path}: BROKEN at line ${r.line}: ${r.reason}.\n`);
    return r.ok ? 0 : 1;
  }
  const lines = await log.read();
  if (opts.json) {
    io.stdout.write(`${JSON.stringify(lines, null, 2)}\n`);
    return 0;
  }
  if (lines.length === 0) io.stdout.write(`No writes recorded yet (${log.path}).\n`);
  for (const l of lines) {
    const ids = l.resultIds.length ? ` → ${l.resultIds.join(', ')}` : '';
    const where = l.api && l.api !== DEFAULT_ORIGIN ? `${l.api}  ` : '';
    io.stdout.write(`${l.time}  ${where}${l.org}  ${l.tool}  ${l.outcome}${l.channel ? ` via ${l.channel}` : ''}${l.httpStatus ? ` (${l.httpStatus})` : ''}${ids}\n`);
  }
  return 0;
}

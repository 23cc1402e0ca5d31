import { LoopIqError } from '../api/errors.js';
import { resolveSettings } from '../config/settings.js';
import { assertOpen, normalizeCode, Refusal, type ApprovalRecord, type Approvals } from '../gate/approvals.js';
import type { AuditLog, Outcome } from '../gate/audit.js';
import { approver } from '../gate/gate.js';
import { notAHuman } from '../gate/human.js';
import { approvalText } from '../gate/prompt.js';
import { gateStores } from '../gate/stores.js';
import { inert } from '../util/inert.js';
import { promptLine } from '../util/prompt.js';
import { processIo, type Io } from './context.js';

const minutesLeft = (a: ApprovalRecord) => Math.max(0, Math.round((Date.parse(a.expiresAt) - Date.now()) / 60_000));

async function stores(io: Io) {
  return gateStores((await resolveSettings({}, io.env)).stateDir, io.env);
}

/** Every refusal of a decision is audited, so a self-approval attempt leaves a trace. */
async function refuse(audit: AuditLog, code: string, why: string, a?: ApprovalRecord, outcome: Outcome = 'approval_refused'): Promise<never> {
  await audit
    .append({
      time: new Date().toISOString(),
      api: a?.apiOrigin ?? '',
      org: a?.org.id ?? '',
      tool: a?.tool ?? '',
      digest: a?.digest ?? '',
      channel: 'terminal',
      outcome,
      approvalId: normalizeCode(code) || null,
      requestId: 'terminal',
      idempotencyKey: null,
      httpStatus: null,
      resultIds: [],
      detail: why,
    })
    .catch(() => {});
  throw new LoopIqError('approval_invalid', `Approval ${inert(normalizeCode(code) || code)} refused: ${why}.`, 'Run `loopiq-mcp approve <code>` yourself, in your own terminal (not through an AI assistant).');
}

async function load(approvals: Approvals, audit: AuditLog, code: string): Promise<ApprovalRecord> {
  let a: ApprovalRecord | undefined;
  try {
    a = await approvals.get(code);
  } catch (err) {
    if (err instanceof Refusal) return refuse(audit, code, err.message.replace(/\.$/, ''));
    throw err;
  }
  if (!a) throw new LoopIqError('approval_invalid', `There is no approval "${inert(code)}".`, 'Run `loopiq-mcp approve` to list the pending ones.');
  return a;
}

/** `approve` lists; `approve <code>` shows the exact request and asks y/N — of an interactive human only. */
export async function approve(code: string | undefined, opts: { json?: boolean }, io: Io = processIo()): Promise<number> {
  const { approvals, audit } = await stores(io);
  if (!code) {
    const { open, forged } = await approvals.open();
    if (opts.json) io.stdout.write(`${JSON.stringify({ open: open.map(({ mac: _m, ...a }) => a), refused: forged }, null, 2)}\n`);
    else {
      if (open.length === 0) io.stdout.write('No writes are waiting for approval.\n');
      for (const a of open) {
        io.stdout.write(`${a.id}  ${a.status.padEnd(8)}  ${inert(a.org.slug)}  ${inert(a.tool)}  ${inert(a.summary)}  (${inert(a.apiOrigin)}; expires in ${minutesLeft(a)} min)\n`);
      }
      if (forged.length) io.stdout.write(`\nIgnored ${forged.length} approval file(s) that loopiq-mcp did not write: ${forged.map(inert).join(', ')}.\n`);
      if (open.length) io.stdout.write('\nReview one with `loopiq-mcp approve <code>`; refuse with `loopiq-mcp reject <code>`.\n');
    }
    return 0;
  }
  const a = await load(approvals, audit, code);
  try {
    assertOpen(a);
  } catch (err) {
    throw new LoopIqError('approval_invalid', (err as Error).message, 'Nothing to do.');
  }
  const problem = notAHuman(io as Parameters<typeof notAHuman>[0], a);
  if (problem) await refuse(audit, code, problem, a);
  io.stdout.write(`\n${approvalText(a)}\n\n`);
  const answer = (await promptLine(io, `Approve ${a.id}? [y/N] `)).trim().toLowerCase();
  const yes = answer === 'y' || answer === 'yes';
  try {
    await approvals.decide(a.id, yes, `terminal (${approver()})`);
  } catch (err) {
    if (err instanceof Refusal) return refuse(audit, code, err.message.replace(/\.$/, ''), a);
    throw err;
  }
  await audit
    .append({
      time: new Date().toISOString(),
      api: a.apiOrigin,
      org: a.org.id,
      tool: a.tool,
      digest: a.digest,
      channel: 'terminal',
      outcome: yes ? 'approved' : 'rejected',
      approvalId: a.id,
      requestId: 'terminal',
      idempotencyKey: null,
      httpStatus: null,
      resultIds: [],
    })
    .catch(() => {});
  io.stdout.write(
    yes
      ? `Approved ${a.id}. The assistant can now run it (loopiq_execute_approved_action); it will be sent exactly as shown, once.\n`
      : `Rejected ${a.id}. Nothing will be written.\n`,
  );
  return 0;
}

export async function reject(code: string, io: Io = processIo()): Promise<number> {
  const { approvals, audit } = await stores(io);
  const a = await load(approvals, audit, code);
  const problem = notAHuman(io as Parameters<typeof notAHuman>[0], a);
  if (problem) await refuse(audit, code, problem, a);
  try {
    await approvals.decide(a.id, false, `terminal (${approver()})`);
  } catch (err) {
    if (err instanceof Refusal) throw new LoopIqError('approval_invalid', err.message, 'Nothing to do.');
    throw err;
  }
  io.stdout.write(`Rejected ${a.id}. Nothing will be written.\n`);
  return 0;
}

import { LoopIqError } from '../api/errors.js';
import { ApprovalStore, normalizeCode, type PendingApproval } from '../gate/approvals.js';
import { approvalText, approver } from '../gate/gate.js';
import { requestDigest } from '../gate/digest.js';
import { resolveSettings } from '../config/settings.js';
import { promptLine } from '../util/prompt.js';
import { processIo, type Io } from './context.js';

const minutesLeft = (a: PendingApproval) => Math.max(0, Math.round((Date.parse(a.expiresAt) - Date.now()) / 60_000));

async function store(io: Io) {
  return new ApprovalStore((await resolveSettings({}, io.env)).stateDir);
}

async function load(approvals: ApprovalStore, code: string): Promise<PendingApproval> {
  const a = await approvals.get(code);
  if (!a) throw new LoopIqError('approval_invalid', `There is no approval "${code}".`, 'Run `loopiq-mcp approve` to list the pending ones.');
  return a;
}

function checkOpen(a: PendingApproval) {
  if (a.status !== 'pending') throw new LoopIqError('approval_invalid', `Approval ${a.id} is already ${a.status}.`, 'Nothing to do.');
  if (Date.parse(a.expiresAt) <= Date.now()) throw new LoopIqError('approval_invalid', `Approval ${a.id} expired at ${a.expiresAt}.`, 'Ask the assistant to propose the write again.');
}

/** `approve` lists; `approve <code>` shows the exact request and asks y/N on a real terminal. */
export async function approve(code: string | undefined, opts: { json?: boolean }, io: Io = processIo()): Promise<number> {
  const approvals = await store(io);
  if (!code) {
    const open = await approvals.open();
    if (opts.json) io.stdout.write(`${JSON.stringify(open, null, 2)}\n`);
    else if (open.length === 0) io.stdout.write('No writes are waiting for approval.\n');
    else {
      for (const a of open) io.stdout.write(`${a.id}  ${a.status.padEnd(8)}  ${a.org.slug}  ${a.tool}  ${a.summary}  (expires in ${minutesLeft(a)} min)\n`);
      io.stdout.write('\nReview one with `loopiq-mcp approve <code>`; refuse with `loopiq-mcp reject <code>`.\n');
    }
    return 0;
  }
  const a = await load(approvals, code);
  checkOpen(a);
  if (!io.stdin.isTTY) {
    throw new LoopIqError(
      'approval_invalid',
      'Approving needs an interactive terminal.',
      'Run `loopiq-mcp approve <code>` yourself in a terminal; an AI agent running commands cannot approve its own request.',
    );
  }
  if (requestDigest({ org: a.org.id, method: a.request.method, path: a.request.path, body: a.request.body }) !== a.digest) {
    throw new LoopIqError('approval_invalid', `Approval ${a.id} was altered after it was requested.`, 'Reject it and ask for the write again.');
  }
  io.stdout.write(`\n${approvalText({ org: a.org, tool: a.tool, summary: a.summary, preview: a.preview, exact: { org: a.org.id, ...a.request }, digest: a.digest }, Infinity)}\n`);
  io.stdout.write(`API: ${a.apiOrigin}    expires in ${minutesLeft(a)} min\n\n`);
  const answer = (await promptLine(io, `Approve ${a.id}? [y/N] `)).trim().toLowerCase();
  const yes = answer === 'y' || answer === 'yes';
  await approvals.transition(a.id, (cur) => {
    checkOpen(cur);
    return { ...cur, status: yes ? 'approved' : 'rejected', decidedAt: new Date().toISOString(), decidedBy: approver() };
  });
  io.stdout.write(
    yes
      ? `Approved ${a.id}. The assistant can now run it (loopiq_execute_approved_action); it will be sent exactly as shown, once.\n`
      : `Rejected ${a.id}. Nothing will be written.\n`,
  );
  return 0;
}

export async function reject(code: string, io: Io = processIo()): Promise<number> {
  const approvals = await store(io);
  const a = await load(approvals, code);
  await approvals.transition(a.id, (cur) => {
    if (cur.status !== 'pending' && cur.status !== 'approved') {
      throw new LoopIqError('approval_invalid', `Approval ${cur.id} is already ${cur.status}.`, 'Nothing to do.');
    }
    return { ...cur, status: 'rejected', decidedAt: new Date().toISOString(), decidedBy: approver() };
  });
  io.stdout.write(`Rejected ${normalizeCode(code)}. Nothing will be written.\n`);
  return 0;
}

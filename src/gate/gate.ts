import { userInfo } from 'node:os';
import type { ApiClient } from '../api/client.js';
import type { WriteBackend, WriteProposal } from '../backend/backend.js';
import { RestBackend } from '../backend/rest.js';
import { LoopIqError, toLoopIqError } from '../api/errors.js';
import type { OrgRef } from '../server/org-scope.js';
import type { ToolOutput } from '../tools/define.js';
import { inert } from '../util/inert.js';
import { CHANNELS, ForgedApproval, normalizeCode, Refusal, type Approvals, type ApprovalRecord, type ChannelName } from './approvals.js';
import { AuditUnavailable, type AuditEntry, type AuditLog, type Outcome } from './audit.js';
import type { ApprovalChannel, ClientAbilities, Verdict } from './channels/channel.js';
import { dialogChannel } from './channels/dialog.js';
import { elicitationChannel } from './channels/elicitation.js';
import { terminalChannel } from './channels/terminal.js';
import type { ProcessId } from './process-tree.js';
import { approvalText, approvalTitle } from './prompt.js';
import { digestOf, type ExactRequest } from './request.js';

export { CHANNELS, type ChannelName };

export type { WriteProposal };

/** Per tool call: who is asking, and how this client can ask a human. */
export interface GateCall extends ClientAbilities {
  tool: string;
  org: OrgRef;
  requestId: string;
  signal?: AbortSignal;
  progress(message: string): Promise<void>;
}

export interface GateDeps {
  /** The only holder of a client that can write (REST or hosted MCP). */
  backend?: WriteBackend;
  /** Shorthand for `backend: new RestBackend(api)`. */
  api?: ApiClient;
  audit: AuditLog;
  approvals: Approvals;
  apiOrigin: string;
  channels: ChannelName[];
  /** How long a dialog stays open for a human (it may outlive the tool call). */
  confirmTimeoutMs: number;
  /** How long one tool call waits for a human before it returns approval_pending (below clients' ~60 s). */
  waitMs: number;
  /** One execution attempt, body included; a takeover waits until this has passed. */
  attemptMs: number;
  env: NodeJS.ProcessEnv;
  /** The AI client that launched this server (its shell must not approve). */
  requester: ProcessId[];
  /** The org pinned right now (re-read): an approval is void if it changed. */
  currentOrg(signal?: AbortSignal): Promise<OrgRef>;
}

type Base = { org: OrgRef; tool: string; digest: string; requestId: string };

/**
 * The only way a write reaches LoopIQ: exact request → LoopIQ preview → an authenticated approval
 * record → a human's explicit approval through one channel → write-ahead audit → the same request
 * with that approval's Idempotency-Key, once → audit. Anything else sends nothing.
 */
export class WriteGate {
  private readonly backend: WriteBackend;

  constructor(private readonly deps: GateDeps) {
    const backend = deps.backend ?? (deps.api ? new RestBackend(deps.api) : undefined);
    if (!backend) throw new Error('WriteGate needs a backend');
    this.backend = backend;
  }

  private channel(name: ChannelName, call: GateCall): ApprovalChannel {
    if (name === 'elicitation') return elicitationChannel(call);
    if (name === 'dialog') return dialogChannel(this.deps.env, this.deps.confirmTimeoutMs);
    return terminalChannel;
  }

  async submit(proposal: WriteProposal, call: GateCall): Promise<ToolOutput> {
    const started = Date.now();
    let exact: ExactRequest;
    try {
      exact = this.backend.exact(proposal, call.org.id);
    } catch (err) {
      const e = toLoopIqError(err).forModel();
      return this.result(call.org, 'approval_invalid', `Nothing was written: ${e.text}`, { error: e.data });
    }
    const digest = digestOf(exact);
    const base: Base = { org: call.org, tool: call.tool, digest, requestId: call.requestId };

    let preview: Record<string, unknown>;
    try {
      await call.progress('asking LoopIQ for a preview');
      preview = await this.backend.preview(exact, { org: call.org.id, requestId: call.requestId, ...(call.signal ? { signal: call.signal } : {}) });
    } catch (err) {
      const e = toLoopIqError(err);
      await this.auditQuietly(base, { channel: null, outcome: 'preview_failed', httpStatus: e.extra.status ?? null, detail: e.code });
      const said = e.forModel();
      return this.result(call.org, 'preview_failed', `Nothing was written: LoopIQ refused the preview.\n${said.text}`, { error: said.data });
    }

    let record: ApprovalRecord;
    try {
      await this.deps.audit.assertSafe();
      record = await this.deps.approvals.create({
        apiOrigin: this.deps.apiOrigin,
        org: call.org,
        tool: call.tool,
        channel: this.deps.channels[0] ?? 'terminal',
        request: storedRequest(exact),
        digest,
        preview,
        summary: proposal.summary,
        requester: this.deps.requester,
      });
    } catch (err) {
      return this.gateError(call.org, err);
    }
    const question = { record, title: approvalTitle(record), text: approvalText(record) };
    const skipped: string[] = [];
    let carriedOver = false;
    for (const name of this.deps.channels) {
      const waitMs = carriedOver ? 0 : started + this.deps.waitMs - Date.now();
      const verdict: Verdict = await whileWaiting(
        call,
        `waiting for your approval (${name})`,
        this.channel(name, call).ask(question, {
          waitMs,
          ...(call.signal ? { signal: call.signal } : {}),
          onLateAnswer: (approved) => this.lateAnswer(record, name, approved),
        }),
      );
      if (verdict.kind === 'skip') {
        skipped.push(`${name}: ${verdict.detail}`);
        continue;
      }
      if (verdict.kind === 'no_answer') {
        skipped.push(`${name}: ${verdict.detail}`);
        carriedOver = true;
        continue;
      }
      if (verdict.kind === 'approved') {
        try {
          await this.deps.approvals.decide(record.id, true, `${name} (${approver()})`);
        } catch (err) {
          return this.gateError(call.org, err);
        }
        await this.auditQuietly(base, { channel: name, outcome: 'approved', approvalId: record.id });
        return this.claimAndExecute(record.id, call);
      }
      if (verdict.kind === 'pending') {
        const outcome: Outcome = name === 'terminal' && !carriedOver ? 'approval_required' : 'approval_pending';
        await this.deps.approvals.handOver(record.id, name).catch(() => {});
        await this.auditQuietly(base, { channel: name, outcome, approvalId: record.id });
        return this.result(call.org, outcome, pendingText(record, name, verdict.detail, carriedOver), { channel: name, approvalId: record.id, preview });
      }
      await this.deps.approvals.decide(record.id, false, `${name} (${verdict.kind})`).catch(() => {});
      await this.auditQuietly(base, { channel: name, outcome: verdict.kind, approvalId: record.id, detail: verdict.detail });
      return this.result(call.org, verdict.kind, `Nothing was written: ${verdict.detail}`, { channel: name, preview });
    }
    await this.deps.approvals.decide(record.id, false, 'no channel').catch(() => {});
    await this.auditQuietly(base, { channel: null, outcome: 'no_channel', approvalId: record.id, detail: skipped.join('; ') });
    return this.result(
      call.org,
      'no_channel',
      `Nothing was written: no way to ask a human could show this request (${skipped.join('; ') || `channels: ${this.deps.channels.join(', ')}`}). ` +
        'Enable the terminal channel (`--confirm elicitation,dialog,terminal`), which shows any request whole.',
      { preview },
    );
  }

  /** `loopiq_execute_approved_action`: send exactly the stored, approved request. */
  executeApproved(approvalId: string, call: GateCall): Promise<ToolOutput> {
    return this.claimAndExecute(approvalId, call);
  }

  /** A dialog answered after its tool call returned: record the decision (the model executes it). */
  private async lateAnswer(record: ApprovalRecord, channel: ChannelName, approved: boolean) {
    const base: Base = { org: record.org, tool: record.tool, digest: record.digest, requestId: 'late-answer' };
    try {
      await this.deps.approvals.decide(record.id, approved, `${channel} (${approver()})`);
      await this.auditQuietly(base, { channel, outcome: approved ? 'approved' : 'rejected', approvalId: record.id });
    } catch {
      /* already decided elsewhere (e.g. `approve` in a terminal) */
    }
  }

  private async claimAndExecute(approvalId: string, call: GateCall): Promise<ToolOutput> {
    const id = normalizeCode(approvalId);
    const refuse = async (why: string, a?: ApprovalRecord) => {
      await this.auditQuietly(
        { org: call.org, tool: call.tool, digest: a?.digest ?? '', requestId: call.requestId },
        { channel: a?.channel ?? null, outcome: 'approval_invalid', approvalId: id || null, detail: why },
      );
      return this.result(call.org, 'approval_invalid', `Nothing was written: ${why}`, { approvalId: id });
    };
    let claimed: ApprovalRecord;
    try {
      const found = await this.deps.approvals.get(id);
      if (!found) return await refuse(`there is no approval "${inert(approvalId)}".`);
      const currentOrg = await this.deps.currentOrg(call.signal);
      claimed = await this.deps.approvals.claim(id, { apiOrigin: this.deps.apiOrigin, currentOrg, callOrg: call.org, attemptMs: this.deps.attemptMs });
    } catch (err) {
      if (err instanceof Refusal) return refuse(err.message);
      return this.gateError(call.org, err);
    }
    return this.execute(claimed, call);
  }

  private async execute(a: ApprovalRecord, call: GateCall): Promise<ToolOutput> {
    const base: Base = { org: a.org, tool: a.tool, digest: a.digest, requestId: call.requestId };
    const channel = a.decidedBy?.split(' ')[0] ?? a.channel;
    const key = { approvalId: a.id, idempotencyKey: a.idempotencyKey };
    // Write-ahead: no line, no request.
    try {
      await this.deps.audit.append(this.entry(base, { channel, outcome: 'executing', ...key }));
    } catch (err) {
      await this.deps.approvals.finish(a.id, { retryable: true }).catch(() => {});
      return this.gateError(a.org, err);
    }
    // Every attempt, body included, ends by this deadline: a takeover waits it out.
    const deadline = AbortSignal.timeout(this.deps.attemptMs);
    const signal = call.signal ? AbortSignal.any([call.signal, deadline]) : deadline;
    let res: Awaited<ReturnType<WriteBackend['execute']>>;
    try {
      res = await this.backend.execute({ org: a.org.id, ...a.request }, a.idempotencyKey, { org: a.org.id, requestId: call.requestId, signal });
    } catch (err) {
      const e = deadline.aborted && !call.signal?.aborted ? new LoopIqError('timeout', `LoopIQ did not finish answering within ${Math.round(this.deps.attemptMs / 1000)} s.`, '', {}) : toLoopIqError(err);
      // A transport failure may or may not have reached LoopIQ: keep the approval usable, because a
      // retry carries the same Idempotency-Key and cannot write twice.
      const retryable = this.backend.retrySafe(a.request) && ['network', 'timeout', 'aborted', 'unavailable', 'rate_limited', 'internal', 'bad_response'].includes(e.code);
      await this.deps.approvals.finish(a.id, { retryable }).catch(() => {});
      await this.auditQuietly(base, { channel, outcome: 'api_error', ...key, httpStatus: e.extra.status ?? null, detail: e.code });
      const again = retryable
        ? ` LoopIQ's answer was lost, so the write may or may not have happened. The approval is still valid: calling loopiq_execute_approved_action with "${a.id}" is safe (same Idempotency-Key; it cannot write twice).`
        : ['network', 'timeout', 'aborted'].includes(e.code)
          ? ' The answer was lost, so the write may or may not have happened; this tool offers no idempotency key, so the approval was not kept: check in LoopIQ before proposing it again.'
          : '';
      const said = e.forModel();
      return this.result(a.org, 'api_error', `The approved write did not complete.\n${said.text}${again}`, { channel, approvalId: a.id, error: said.data });
    }
    const ids = res.ids;
    await this.deps.approvals.finish(a.id, { executed: { httpStatus: res.status, ids } }).catch(() => {});
    let auditNote = '';
    try {
      await this.deps.audit.append(this.entry(base, { channel, outcome: 'executed', ...key, httpStatus: res.status, resultIds: ids }));
    } catch (err) {
      auditNote = ` Warning: the write happened, but its outcome could not be added to the audit log (${err instanceof Error ? err.message : String(err)}).`;
    }
    return this.result(a.org, 'executed', `Approved and written.${auditNote} The created or changed ids are in the data.`, {
      channel,
      approvalId: a.id,
      ids,
      result: res.data,
      ...(res.withheldForeign ? { withheldForeign: res.withheldForeign } : {}),
    });
  }

  private entry(base: Base, e: Partial<AuditEntry> & Pick<AuditEntry, 'channel' | 'outcome'>): AuditEntry {
    return {
      time: new Date().toISOString(),
      api: this.deps.apiOrigin,
      org: base.org.id,
      tool: base.tool,
      digest: base.digest,
      approvalId: null,
      requestId: base.requestId,
      idempotencyKey: null,
      httpStatus: null,
      resultIds: [],
      ...e,
    };
  }

  /** For outcomes where nothing was sent: a failed audit line must not hide the outcome. */
  private async auditQuietly(base: Base, e: Partial<AuditEntry> & Pick<AuditEntry, 'channel' | 'outcome'>) {
    await this.deps.audit.append(this.entry(base, e)).catch(() => {});
  }

  private gateError(org: OrgRef, err: unknown): ToolOutput {
    if (err instanceof AuditUnavailable) {
      return this.result(org, 'api_error', `Nothing was written: ${err.message}`, {});
    }
    if (err instanceof ForgedApproval || err instanceof Refusal) return this.result(org, 'approval_invalid', `Nothing was written: ${err.message}`, {});
    const e = toLoopIqError(err).forModel();
    return this.result(org, 'api_error', `Nothing was written: ${e.text}`, { error: e.data });
  }

  private result(org: OrgRef, outcome: Outcome, summary: string, extra: Record<string, unknown>): ToolOutput {
    return {
      summary,
      structured: { organization: org, outcome, channel: null, ...extra },
      ...(outcome === 'executed' || outcome === 'approval_required' || outcome === 'approval_pending' ? {} : { isError: true }),
    };
  }
}

function pendingText(a: ApprovalRecord, channel: ChannelName, detail: string, carriedOver: boolean): string {
  const lead = carriedOver ? 'Nothing was written yet: the user did not answer in the client in time. ' : 'Nothing was written yet: this write needs a human approval. ';
  const how =
    channel === 'dialog'
      ? `${detail}; they can also run \`loopiq-mcp approve ${a.id}\` in a terminal.`
      : `Tell the user to run \`loopiq-mcp approve ${a.id}\` in their own terminal (it expires in 15 minutes).`;
  return `${lead}${how} After they approve, call loopiq_execute_approved_action with approvalId "${a.id}". You cannot approve it yourself.`;
}

/**
 * Progress notifications while a human decides, so clients that reset their tool timeout on
 * progress do not give up on a long approval.
 */
async function whileWaiting<T>(call: GateCall, message: string, waiting: Promise<T>, everyMs = 15_000): Promise<T> {
  await call.progress(message).catch(() => {});
  const timer = setInterval(() => void call.progress(message).catch(() => {}), everyMs);
  try {
    return await waiting;
  } finally {
    clearInterval(timer);
  }
}

/** What an approval stores: the exact request without its org (the approval names it). */
function storedRequest(exact: ExactRequest): ApprovalRecord['request'] {
  const { org: _org, ...request } = exact;
  return request;
}

export const approver = () => {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
};

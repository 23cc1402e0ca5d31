import { randomUUID } from 'node:crypto';
import { userInfo } from 'node:os';
import type { ElicitRequestFormParams, ElicitResult } from '@modelcontextprotocol/sdk/types.js';
import type { ZodType } from 'zod';
import type { ApiClient } from '../api/client.js';
import { DryRun, writeResponseFor, type Endpoint, type HttpMethod } from '../api/contract.js';
import { LoopIqError, toLoopIqError } from '../api/errors.js';
import type { OrgRef } from '../server/org-scope.js';
import type { ToolOutput } from '../tools/define.js';
import { revealInvisible, sanitize } from '../util/untrusted.js';
import { ApprovalStore, normalizeCode, type PendingApproval } from './approvals.js';
import type { AuditEntry, AuditLog, Outcome } from './audit.js';
import { askDialog } from './channels/dialog.js';
import { requestDigest } from './digest.js';

export const CHANNELS = ['elicitation', 'dialog', 'terminal'] as const;
export type ChannelName = (typeof CHANNELS)[number];

export function parseChannels(value: string | undefined): ChannelName[] {
  if (value === undefined) return [...CHANNELS];
  const names = value.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = names.filter((n) => !(CHANNELS as readonly string[]).includes(n));
  if (bad.length || names.length === 0) {
    throw new LoopIqError('config_invalid', `--confirm: unknown channel(s): ${bad.join(', ') || '(none given)'}.`, `Use a comma-separated list of: ${CHANNELS.join(', ')}.`);
  }
  return names as ChannelName[];
}

/** One write as the model proposed it; the gate turns it into the exact request a human approves. */
export interface WriteProposal {
  endpoint: Endpoint<ZodType>;
  /** One line: what will change, in plain words. */
  summary: string;
}

/** Per tool call: who is asking, and how this client can ask a human. */
export interface GateCall {
  tool: string;
  org: OrgRef;
  requestId: string;
  signal?: AbortSignal;
  /** Present only when the client declared form elicitation. */
  elicit?: (params: ElicitRequestFormParams, timeoutMs: number) => Promise<ElicitResult>;
  progress(message: string): Promise<void>;
}

export interface GateDeps {
  api: ApiClient;
  audit: AuditLog;
  approvals: ApprovalStore;
  apiOrigin: string;
  channels: ChannelName[];
  /** How long a human has to answer an elicitation or dialog. */
  confirmTimeoutMs: number;
  env: NodeJS.ProcessEnv;
  /** The org pinned right now (re-read): an approval is void if it changed. */
  currentOrg(signal?: AbortSignal): Promise<OrgRef>;
}

interface Exact {
  org: string;
  method: HttpMethod;
  path: string;
  body: unknown;
}

/**
 * The only way a write reaches the API client: exact request → LoopIQ preview → digest → a
 * human's explicit approval → the same request with an Idempotency-Key bound to that approval →
 * audit. Anything but an approval sends nothing.
 */
export class WriteGate {
  constructor(private readonly deps: GateDeps) {}

  async submit(proposal: WriteProposal, call: GateCall): Promise<ToolOutput> {
    const ep = proposal.endpoint;
    const exact: Exact = { org: call.org.id, method: ep.method, path: ep.path, body: ep.body ?? null };
    const digest = requestDigest(exact);
    const base = { org: call.org, tool: call.tool, digest, requestId: call.requestId };

    let preview: Record<string, unknown>;
    try {
      await call.progress('asking LoopIQ for a preview');
      const dry = (await this.deps.api.call(ep, { org: call.org.id, requestId: call.requestId, signal: call.signal, dryRun: true, response: DryRun })) as DryRun;
      preview = sanitize(dry.preview);
    } catch (err) {
      const e = toLoopIqError(err);
      await this.audit(base, { channel: null, outcome: 'preview_failed', httpStatus: e.extra.status ?? null, detail: e.code });
      return this.result(call.org, 'preview_failed', `Nothing was written: LoopIQ refused the preview.\n${e.describe()}`, {});
    }

    const prompt = approvalText({ org: call.org, tool: call.tool, summary: proposal.summary, preview, exact, digest });
    // Every approval is stored with its own Idempotency-Key, so a retry after a lost response is
    // the same request, whichever channel approved it.
    const store = (status: 'pending' | 'approved', channel: ChannelName) =>
      this.deps.approvals.create({
        apiOrigin: this.deps.apiOrigin,
        org: call.org,
        tool: call.tool,
        channel,
        request: { method: exact.method as 'POST' | 'PATCH', path: exact.path, body: exact.body },
        digest,
        preview,
        summary: revealInvisible(proposal.summary),
        idempotencyKey: `loopiq-mcp-${randomUUID()}`,
        ...(status === 'approved' ? { status, decidedAt: new Date().toISOString(), decidedBy: `${channel} (${approver()})` } : {}),
      });
    for (const channel of this.deps.channels) {
      if (channel === 'elicitation') {
        if (!call.elicit) continue;
        const verdict = await whileWaiting(call, 'waiting for your approval in the client', this.elicit(call, prompt));
        if (verdict.outcome === 'approved') return this.claimAndExecute((await store('approved', channel)).id, call);
        await this.audit(base, { channel, outcome: verdict.outcome, detail: verdict.detail });
        return this.result(call.org, verdict.outcome, `Nothing was written: ${verdict.detail}`, { channel, preview });
      }
      if (channel === 'dialog') {
        const verdict = await whileWaiting(
          call,
          'waiting for your approval in a dialog',
          askDialog(`LoopIQ: approve ${call.tool}?`, prompt, this.deps.confirmTimeoutMs, this.deps.env, call.signal),
        );
        if (verdict === 'unavailable') continue;
        if (verdict === 'approved') return this.claimAndExecute((await store('approved', channel)).id, call);
        const outcome: Outcome = verdict === 'timed_out' ? 'timed_out' : 'declined';
        const why = outcome === 'timed_out' ? 'the approval dialog timed out without an answer.' : 'the user rejected the request in the approval dialog.';
        await this.audit(base, { channel, outcome });
        return this.result(call.org, outcome, `Nothing was written: ${why}`, { channel, preview });
      }
      // terminal
      const pending = await store('pending', channel);
      await this.audit(base, { channel, outcome: 'approval_required', approvalId: pending.id });
      return this.result(
        call.org,
        'approval_required',
        `Nothing was written yet: this write needs a human approval. Tell the user to run \`loopiq-mcp approve ${pending.id}\` in a terminal ` +
          `(it expires in 15 minutes). After they approve, call loopiq_execute_approved_action with approvalId "${pending.id}". ` +
          'You cannot approve it yourself.',
        { channel, approvalId: pending.id, preview },
      );
    }
    await this.audit(base, { channel: null, outcome: 'no_channel' });
    return this.result(
      call.org,
      'no_channel',
      `Nothing was written: no way to ask a human is available (channels tried: ${this.deps.channels.join(', ')}). ` +
        'Enable the terminal channel (`--confirm elicitation,dialog,terminal`), or use a client with elicitation.',
      { preview },
    );
  }

  /** `loopiq_execute_approved_action`: send exactly the stored, approved request. */
  executeApproved(approvalId: string, call: GateCall): Promise<ToolOutput> {
    return this.claimAndExecute(approvalId, call);
  }

  private async claimAndExecute(approvalId: string, call: GateCall): Promise<ToolOutput> {
    const id = normalizeCode(approvalId);
    const invalid = async (why: string, a?: PendingApproval) => {
      await this.audit(
        { org: call.org, tool: call.tool, digest: a?.digest ?? '', requestId: call.requestId },
        { channel: a?.channel ?? 'terminal', outcome: 'approval_invalid', approvalId: id || null, detail: why },
      );
      return this.result(call.org, 'approval_invalid', `Nothing was written: ${why}`, { channel: a?.channel ?? 'terminal', approvalId: id });
    };
    const found = await this.deps.approvals.get(id).catch(() => undefined);
    if (!found) return invalid(`there is no approval "${approvalId}".`);
    const now = Date.now();
    const org = await this.deps.currentOrg(call.signal);

    let claimed: PendingApproval;
    try {
      claimed = await this.deps.approvals.transition(id, (a) => {
        if (a.status === 'executed') throw new Refusal('this approval was already used; each approval writes once.');
        if (a.status === 'rejected') throw new Refusal('the user rejected this request.');
        if (a.status === 'pending') throw new Refusal(`the user has not approved it yet: they run \`loopiq-mcp approve ${a.id}\` in a terminal.`);
        if (a.status === 'failed') throw new Refusal('this approved request already failed at LoopIQ; propose the write again.');
        if (a.status === 'executing' && !ApprovalStore.isExecutingStale(a, now)) throw new Refusal('this approval is being executed right now.');
        if (Date.parse(a.expiresAt) <= now) throw new Refusal('the approval expired (15 minutes); propose the write again.');
        if (a.apiOrigin !== this.deps.apiOrigin) throw new Refusal('the approval was made for another LoopIQ API.');
        if (a.org.id !== org.id || a.org.id !== call.org.id) {
          throw new Refusal(`the selected organization changed since the approval (${a.org.name} → ${org.name}); the approval is void.`);
        }
        const digest = requestDigest({ org: a.org.id, method: a.request.method, path: a.request.path, body: a.request.body });
        if (digest !== a.digest) throw new Refusal('the stored request does not match what was approved.');
        return { ...a, status: 'executing', executingSince: new Date(now).toISOString() };
      });
    } catch (err) {
      if (err instanceof Refusal) return invalid(err.message, found);
      throw err;
    }
    const exact: Exact = { org: claimed.org.id, method: claimed.request.method, path: claimed.request.path, body: claimed.request.body };
    const base = { org: claimed.org, tool: claimed.tool, digest: claimed.digest, requestId: call.requestId };
    return this.execute(base, exact, claimed, call.signal);
  }

  private async execute(
    base: { org: OrgRef; tool: string; digest: string; requestId: string },
    exact: Exact,
    approval: PendingApproval,
    signal: AbortSignal | undefined,
  ): Promise<ToolOutput> {
    const { channel, idempotencyKey } = approval;
    const endpoint = { method: exact.method, path: exact.path, orgScoped: true, body: exact.body, response: writeResponseFor(exact.method, exact.path) };
    try {
      const res = await this.deps.api.callWithMeta(endpoint, { org: exact.org, requestId: base.requestId, idempotencyKey, ...(signal ? { signal } : {}) });
      const ids = resultIds(res.data);
      await this.deps.approvals.transition(approval.id, (a) => ({ ...a, status: 'executed', result: { httpStatus: res.status, ids } }));
      await this.audit(base, { channel, outcome: 'executed', approvalId: approval.id, idempotencyKey, httpStatus: res.status, resultIds: ids });
      return this.result(base.org, 'executed', `Approved and written in ${base.org.name} (${base.org.id}): ${ids.join(', ') || 'done'}.`, {
        channel,
        approvalId: approval.id,
        ids,
        result: sanitize(res.data as Record<string, unknown>),
      });
    } catch (err) {
      const e = toLoopIqError(err);
      // A transport failure may or may not have reached LoopIQ: keep the approval usable, because a
      // retry carries the same Idempotency-Key and cannot write twice.
      const retryable = ['network', 'timeout', 'aborted', 'unavailable', 'rate_limited', 'internal'].includes(e.code);
      await this.deps.approvals.transition(approval.id, (a) => ({ ...a, status: retryable ? 'approved' : 'failed', executingSince: undefined }));
      await this.audit(base, { channel, outcome: 'api_error', approvalId: approval.id, idempotencyKey, httpStatus: e.extra.status ?? null, detail: e.code });
      const again = retryable
        ? ` LoopIQ's answer was lost, so the write may or may not have happened. The approval is still valid: calling loopiq_execute_approved_action with "${approval.id}" is safe (same Idempotency-Key; it cannot write twice).`
        : '';
      return this.result(base.org, 'api_error', `The approved write did not complete.\n${e.describe()}${again}`, {
        channel,
        approvalId: approval.id,
      });
    }
  }

  private async elicit(call: GateCall, prompt: string): Promise<{ outcome: Outcome | 'approved'; detail: string }> {
    try {
      const r = await call.elicit!(
        {
          mode: 'form',
          message: prompt,
          requestedSchema: {
            type: 'object',
            properties: { approve: { type: 'boolean', title: 'Approve and run this write', description: 'Leave unchecked to reject.', default: false } },
            required: ['approve'],
          },
        },
        this.deps.confirmTimeoutMs,
      );
      if (r.action === 'accept' && r.content?.approve === true) return { outcome: 'approved', detail: '' };
      if (r.action === 'accept' || r.action === 'decline') return { outcome: 'declined', detail: 'the user declined the request.' };
      return { outcome: 'cancelled', detail: 'the user (or the client) cancelled the request without approving it.' };
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      if (/timed out/i.test(msg)) return { outcome: 'timed_out', detail: `no answer within ${Math.round(this.deps.confirmTimeoutMs / 1000)} s.` };
      return { outcome: 'cancelled', detail: `the client could not show the approval request (${msg}).` };
    }
  }

  private async audit(
    base: { org: OrgRef; tool: string; digest: string; requestId: string },
    e: Partial<AuditEntry> & Pick<AuditEntry, 'channel' | 'outcome'>,
  ) {
    await this.deps.audit.append({
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
    });
  }

  private result(org: OrgRef, outcome: Outcome, summary: string, extra: Record<string, unknown>): ToolOutput {
    return {
      summary,
      structured: { organization: org, outcome, channel: null, ...extra },
      ...(outcome === 'executed' || outcome === 'approval_required' ? {} : { isError: true }),
    };
  }
}

class Refusal extends Error {}

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

function resultIds(data: unknown): string[] {
  const d = data as { id?: unknown; parent?: { id?: unknown }; tasks?: { id?: unknown }[] } | null;
  const ids: unknown[] = [d?.id, d?.parent?.id, ...(d?.tasks ?? []).map((t) => t.id)];
  return ids.filter((x): x is string => typeof x === 'string');
}

/** What the human sees, in every channel. */
export function approvalText(
  a: { org: OrgRef; tool: string; summary: string; preview: Record<string, unknown>; exact: Exact; digest: string },
  maxPayload = 4_000,
): string {
  const payload = JSON.stringify(a.exact.body, null, 2);
  return revealInvisible(
    [
      'An AI assistant asks to write to LoopIQ. Approve only if this is exactly what you want.',
      '',
      `Organization: ${a.org.name} (${a.org.id})`,
      `Tool:         ${a.tool}`,
      `Action:       ${a.summary}`,
      `Request:      ${a.exact.method} ${a.exact.path}`,
      '',
      'LoopIQ preview:',
      JSON.stringify(a.preview, null, 2),
      '',
      'Payload:',
      payload.length > maxPayload ? `${payload.slice(0, maxPayload)}\n… (${payload.length - maxPayload} more characters; \`loopiq-mcp approve\` shows all)` : payload,
      '',
      `Digest: ${a.digest.slice(0, 16)}`,
    ].join('\n'),
  );
}

export const approver = () => {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
};

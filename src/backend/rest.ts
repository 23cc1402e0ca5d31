import type { ApiClient } from '../api/client.js';
import { DryRun, writeResponseFor } from '../api/contract.js';
import { LoopIqError } from '../api/errors.js';
import { exactRequest, isMcpCall, type ExactRequest, type RestCall } from '../gate/request.js';
import { sanitize } from '../util/untrusted.js';
import { type SendOptions, type Sent, type WriteBackend, type WriteProposal } from './backend.js';

/** LoopIQ's REST API (DESIGN.md §3): dry run by `?dryRun=true`, the key in `Idempotency-Key`. */
export class RestBackend implements WriteBackend {
  readonly kind = 'rest' as const;

  constructor(private readonly api: ApiClient) {}

  exact(proposal: WriteProposal, org: string): ExactRequest {
    if (!('endpoint' in proposal)) throw wrongBackend();
    return exactRequest(proposal.endpoint, org);
  }

  async preview(r: ExactRequest, o: SendOptions): Promise<Record<string, unknown>> {
    const dry = (await this.api.call(endpointOf(r), { org: o.org, requestId: o.requestId, ...(o.signal ? { signal: o.signal } : {}), dryRun: true, response: DryRun() })) as DryRun;
    return sanitize(dry.preview);
  }

  async execute(r: ExactRequest, idempotencyKey: string, o: SendOptions): Promise<Sent> {
    const res = await this.api.callWithMeta(endpointOf(r), { org: o.org, requestId: o.requestId, idempotencyKey, ...(o.signal ? { signal: o.signal } : {}) });
    return { status: res.status, data: sanitize(res.data), ids: resultIds(res.data), ...(res.foreignDropped ? { withheldForeign: res.foreignDropped } : {}) };
  }

  /** Every REST write carries its approval's Idempotency-Key. */
  retrySafe(): boolean {
    return true;
  }
}

function endpointOf(r: ExactRequest) {
  if (isMcpCall(r)) throw wrongBackend();
  const { method, path, body } = r as RestCall;
  return { method, path, orgScoped: true, body, response: writeResponseFor(method, path) };
}

const wrongBackend = () =>
  new LoopIqError('config_invalid', 'This write was prepared for another kind of LoopIQ connection (REST vs hosted MCP).', 'Restart loopiq-mcp with the connection the approval was made for, or propose the write again.');

function resultIds(data: unknown): string[] {
  const d = data as { id?: unknown; parent?: { id?: unknown }; tasks?: ({ id?: unknown } | null)[] } | null;
  const ids: unknown[] = [d?.id, d?.parent?.id, ...(Array.isArray(d?.tasks) ? d.tasks.map((t) => t?.id) : [])];
  return ids.filter((x): x is string => typeof x === 'string');
}

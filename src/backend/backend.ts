import type { ZodType } from 'zod';
import type { Endpoint } from '../api/contract.js';
import type { ExactRequest, McpCall, StoredRequest } from '../gate/request.js';

/** One write as the model proposed it; the backend turns it into the exact request a human approves. */
export type WriteProposal = {
  /** One line: what will change, in plain words. */
  summary: string;
} & ({ endpoint: Endpoint<ZodType> } | { mcp: Omit<McpCall, 'kind'> });

export interface SendOptions {
  org: string;
  requestId: string;
  signal?: AbortSignal;
}

export interface Sent {
  /** HTTP status (REST), or null (a tool result has none). */
  status: number | null;
  /** The result, org-pinned and sanitized. */
  data: unknown;
  ids: string[];
  /** Records from another organization that were withheld from `data`. */
  withheldForeign?: number;
}

/**
 * What LoopIQ is reached through: its REST API or its hosted MCP endpoint. The gate, approvals,
 * audit and channels only ever talk to this, so they do not know which one it is.
 */
export interface WriteBackend {
  readonly kind: 'rest' | 'mcp';
  /** Builds the exact request once; refuses a proposal meant for the other backend. */
  exact(proposal: WriteProposal, org: string): ExactRequest;
  /** LoopIQ's preview of the request (a dry run), sanitized; or a note saying no preview exists. Changes nothing. */
  preview(request: ExactRequest, o: SendOptions): Promise<Record<string, unknown>>;
  /** Sends the approved request with the approval's idempotency key; internal retries reuse it. */
  execute(request: ExactRequest, idempotencyKey: string, o: SendOptions): Promise<Sent>;
  /** Whether a lost answer may be retried later without writing twice. */
  retrySafe(request: StoredRequest): boolean;
}

/** Ids of created or changed records in a result: every string `id`, shallow first, bounded. */
export function resultIds(data: unknown, max = 50): string[] {
  const out: string[] = [];
  const queue: unknown[] = [data];
  while (queue.length && out.length < max) {
    const v = queue.shift();
    if (Array.isArray(v)) queue.push(...(v as unknown[]));
    else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (k === 'id' && typeof x === 'string') out.push(x);
        else if (x && typeof x === 'object') queue.push(x);
      }
    }
  }
  return out;
}

import type { ElicitRequestFormParams, ElicitResult } from '@modelcontextprotocol/sdk/types.js';
import type { ApprovalRecord, ChannelName } from '../approvals.js';

/** What a channel shows: the whole request, already rendered inert. */
export interface ApprovalQuestion {
  record: ApprovalRecord;
  title: string;
  text: string;
}

export type Verdict =
  | { kind: 'approved' }
  | { kind: 'declined'; detail: string }
  | { kind: 'cancelled'; detail: string }
  | { kind: 'timed_out'; detail: string }
  /** This channel cannot ask here (no UI, no display, request too long to show whole): try the next. */
  | { kind: 'skip'; detail: string }
  /** No answer within this call's bound: the next channel carries the approval. */
  | { kind: 'no_answer'; detail: string }
  /** The human can still answer after this call returns (a dialog left open, the terminal). */
  | { kind: 'pending'; detail: string };

export interface AskOptions {
  /** How long this tool call may still wait. */
  waitMs: number;
  signal?: AbortSignal;
  /** A channel that outlives the call reports a later answer here. */
  onLateAnswer: (approved: boolean) => Promise<void>;
}

/** One way to ask a human. A new way (e.g. MCP 2026-07-28's multi-round-trip input) is a new file. */
export interface ApprovalChannel {
  readonly name: ChannelName;
  ask(q: ApprovalQuestion, opts: AskOptions): Promise<Verdict>;
}

/** What the server knows about the client for this call. */
export interface ClientAbilities {
  /** Present only when the client declared form elicitation. */
  elicit?: (params: ElicitRequestFormParams, timeoutMs: number, signal?: AbortSignal) => Promise<ElicitResult>;
}

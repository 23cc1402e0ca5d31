import { z } from 'zod';
import type { ApiClient, CallOptions } from '../api/client.js';
import type { Me } from '../api/contract.js';
import type { OrgRef } from '../server/org-scope.js';
import type { WriteProposal } from '../gate/gate.js';

export interface Annotations {
  readOnlyHint: boolean;
  destructiveHint: boolean;
  idempotentHint: boolean;
  openWorldHint: boolean;
}

export interface ToolContext {
  api: ApiClient;
  /** The pinned organization; tools never take it as a parameter. */
  org: OrgRef;
  /** Base options for every API call of this tool call: pinned org, abort signal, request id. */
  call: Required<Pick<CallOptions, 'org' | 'requestId'>> & Pick<CallOptions, 'signal' | 'onRetry'>;
  whoami(): Promise<Me>;
  progress(message: string): Promise<void>;
  /** The only way to write: through the gate (preview, human approval, idempotency, audit). */
  write(proposal: WriteProposal): Promise<ToolOutput>;
  executeApproved(approvalId: string): Promise<ToolOutput>;
}

export interface UserContext extends Omit<ToolContext, 'org' | 'call' | 'write' | 'executeApproved'> {
  org: OrgRef | undefined;
  call: Pick<CallOptions, 'signal' | 'requestId' | 'onRetry'>;
}

export interface ToolOutput {
  /** A short line for humans; the data follows it in the text content. */
  summary: string;
  structured: Record<string, unknown>;
  isError?: boolean;
}

interface BaseTool<I extends z.ZodRawShape, O extends z.ZodRawShape> {
  name: string;
  title: string;
  description: string;
  input: I;
  output: O;
  annotations: Annotations;
  /** Writes are hidden in read-only mode. */
  write?: boolean;
}

export interface OrgTool<I extends z.ZodRawShape = z.ZodRawShape, O extends z.ZodRawShape = z.ZodRawShape>
  extends BaseTool<I, O> {
  scope: 'org';
  handler(args: z.infer<z.ZodObject<I>>, ctx: ToolContext): Promise<ToolOutput>;
}

/** Works without a selected organization (identity tools). */
export interface UserTool<I extends z.ZodRawShape = z.ZodRawShape, O extends z.ZodRawShape = z.ZodRawShape>
  extends BaseTool<I, O> {
  scope: 'user';
  handler(args: z.infer<z.ZodObject<I>>, ctx: UserContext): Promise<ToolOutput>;
}

export type ToolDef = OrgTool<any, any> | UserTool<any, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export function defineTool<I extends z.ZodRawShape, O extends z.ZodRawShape>(tool: OrgTool<I, O>): OrgTool<I, O>;
export function defineTool<I extends z.ZodRawShape, O extends z.ZodRawShape>(tool: UserTool<I, O>): UserTool<I, O>;
export function defineTool(tool: ToolDef): ToolDef {
  return tool;
}

export const READ: Annotations = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false };

// ---- shared schema pieces ----

export const recordId = (what: string) =>
  z
    .string()
    .min(1)
    .max(128)
    .regex(/^[^\s/?#\\]+$/, 'must be an id without spaces or slashes')
    .describe(`${what} id`);

export const paging = {
  limit: z.number().int().min(1).max(100).default(25).describe('Page size, 1-100'),
  cursor: z.string().max(512).optional().describe('nextCursor from the previous page'),
};

export const orgRefShape = z.object({ id: z.string(), slug: z.string(), name: z.string() });
const looseRecord = z.record(z.string(), z.unknown());

export const listOutput = {
  organization: orgRefShape,
  items: z.array(looseRecord),
  count: z.number().int(),
  nextCursor: z.string().nullable(),
  truncated: z.boolean().optional(),
  withheldForeign: z.number().int().optional(),
};

export const recordOutput = { organization: orgRefShape, record: looseRecord, truncated: z.boolean().optional() };

export const writeOutput = {
  organization: orgRefShape,
  outcome: z.enum(['executed', 'approval_required', 'declined', 'cancelled', 'timed_out', 'no_channel', 'approval_invalid', 'preview_failed', 'api_error']),
  channel: z.string().nullable(),
  approvalId: z.string().optional(),
  ids: z.array(z.string()).optional(),
  preview: looseRecord.optional(),
  result: looseRecord.optional(),
};

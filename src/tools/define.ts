import { z } from 'zod';
import type { CallOptions } from '../api/client.js';
import type { ReadApi } from '../api/read-api.js';
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
  /** Reads only (by type and at run time): every write goes through `write`. */
  api: ReadApi;
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

interface BaseTool<I extends z.ZodRawShape> {
  name: string;
  title: string;
  description: string;
  /**
   * The arguments' zod shape, built on first use: building every tool's schemas costs a start
   * several ms, and tools/list is prebuilt (tsup.config.ts). See inputSchema().
   */
  input: () => I;
  /** JSON Schema of `structuredContent`, advertised as-is (kept small: it costs context every turn). */
  output: OutputSchema;
  annotations: Annotations;
  /** Writes are hidden in read-only mode. */
  write?: boolean;
}

export interface OrgTool<I extends z.ZodRawShape = z.ZodRawShape> extends BaseTool<I> {
  scope: 'org';
  handler(args: z.infer<z.ZodObject<I>>, ctx: ToolContext): Promise<ToolOutput>;
}

/** Works without a selected organization (identity tools). */
export interface UserTool<I extends z.ZodRawShape = z.ZodRawShape> extends BaseTool<I> {
  scope: 'user';
  handler(args: z.infer<z.ZodObject<I>>, ctx: UserContext): Promise<ToolOutput>;
}

export type ToolDef = OrgTool<any> | UserTool<any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- a list of tools with different input shapes; each handler is checked against its own shape where it is defined

export function defineTool<I extends z.ZodRawShape>(tool: OrgTool<I>): OrgTool<I>;
export function defineTool<I extends z.ZodRawShape>(tool: UserTool<I>): UserTool<I>;
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
    // One literal path segment: what is shown and approved is the path that is sent (no `.`/`..`,
    // no escapes URL normalization would decode).
    .regex(/^(?!\.{1,2}$)[A-Za-z0-9._~:@-]+$/, 'must be a record id (letters, digits, . _ ~ : @ -), not "." or ".."')
    .describe(`${what} id`);

export const paging = () => ({
  limit: z.number().int().min(1).max(100).default(25),
  cursor: z.string().max(512).optional().describe('From nextCursor'),
});

// ---- output schemas (JSON Schema, as data) ----

export interface OutputSchema {
  [k: string]: unknown;
  type: 'object';
  required: string[];
}

/**
 * `structuredContent` is described by the names it always has, not by full record schemas: the
 * whole tools/list costs context on every model turn, and the records are in the text as well.
 * Every result names its organization ({id, slug, name}).
 */
const output = (...required: string[]): OutputSchema => ({ type: 'object', required });
export const listOutput = output('organization', 'items', 'count', 'nextCursor');
export const recordOutput = output('organization', 'record');
export const whoamiOutput = output('user', 'organization');
export const organizationsOutput = output('organizations', 'organization');
/** Also `channel`, `approvalId`, `ids`, `preview`, `result` where they apply. */
export const writeOutput = output('organization', 'outcome');

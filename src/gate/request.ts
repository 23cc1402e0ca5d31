import type { ZodType } from 'zod';
import type { Endpoint, HttpMethod } from '../api/contract.js';
import { LoopIqError } from '../api/errors.js';
import { inert } from '../util/inert.js';
import { requestDigest } from './digest.js';

/** A REST write: method, path and JSON body. */
export interface RestCall {
  /** Absent: only an MCP call has a kind. */
  kind?: undefined;
  method: Extract<HttpMethod, 'POST' | 'PATCH'>;
  path: string;
  body: unknown;
}

/**
 * A tool call on the hosted MCP endpoint: the arguments are sent verbatim; `hasDryRun` and
 * `hasIdempotencyKey` say what the tool's input schema offers (a preview, a retry-safe key).
 */
export interface McpCall {
  kind: 'mcp';
  tool: string;
  arguments: Record<string, unknown>;
  hasDryRun: boolean;
  hasIdempotencyKey: boolean;
}

/** What an approval stores: the request without its org (the approval names the org). */
export type StoredRequest = RestCall | McpCall;

/** The one canonical write: what is digested, shown, stored and sent. */
export type ExactRequest = { org: string } & StoredRequest;

export const isMcpCall = (r: StoredRequest): r is McpCall => r.kind === 'mcp';

/** One line naming the request, for humans (inert: names come from the model or the endpoint). */
export function requestLine(r: StoredRequest): string {
  return isMcpCall(r) ? `MCP tool ${inert(r.tool)}` : `${r.method} ${inert(r.path)}`;
}

/** What is sent, exactly (the JSON body, or the tool's arguments). */
export const payloadOf = (r: StoredRequest): unknown => (isMcpCall(r) ? r.arguments : r.body);

/** A JSON round trip: what is stored and sent is exactly what was digested (no undefined, no prototype tricks). */
export const jsonCopy = <T>(v: T): T => (v === undefined ? (null as T) : (JSON.parse(JSON.stringify(v)) as T));

/**
 * Builds the exact request once. A path that URL normalization would change (an id of `.` or
 * `..`, a dot-segment, `%2e`, a backslash) is refused: what a human approves is what is sent.
 */
export function exactRequest(endpoint: Endpoint<ZodType>, org: string): { org: string } & RestCall {
  if (endpoint.method !== 'POST' && endpoint.method !== 'PATCH') {
    throw new LoopIqError('config_invalid', `${endpoint.method} is not a write the gate sends.`, 'This is a bug in loopiq-mcp; please report it.');
  }
  assertCanonicalPath(endpoint.path);
  if (endpoint.query && Object.values(endpoint.query).some((v) => v !== undefined && v !== '')) {
    throw new LoopIqError('config_invalid', 'A write must not carry query parameters.', 'This is a bug in loopiq-mcp; please report it.');
  }
  // A JSON round trip: what is stored and sent is exactly what was digested (no undefined, no
  // prototype tricks, no non-JSON values).
  const body = endpoint.body === undefined ? null : (JSON.parse(JSON.stringify(endpoint.body)) as unknown);
  return { org, method: endpoint.method, path: endpoint.path, body };
}

export function assertCanonicalPath(path: string): void {
  const segments = path.split('/').slice(1);
  const bad = segments.find((s) => s === '' || s === '.' || s === '..' || /%2e|%2f|%5c|\\/i.test(s) || decodeSafe(s) === '.' || decodeSafe(s) === '..');
  if (!path.startsWith('/') || bad !== undefined || new URL(path, 'http://loopiq.invalid').pathname !== path) {
    throw new LoopIqError(
      'validation_failed',
      `The id in ${JSON.stringify(path)} is not a single literal path segment.`,
      'Use the record id exactly as LoopIQ returned it (no ".", "..", slashes or escapes).',
    );
  }
}

function decodeSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

export const digestOf = (r: ExactRequest) => requestDigest(r);

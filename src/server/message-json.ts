import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

/**
 * JSON already written for a value. A tool result's structuredContent holds the same data as its
 * fenced text, which had to be serialized anyway: the line sent reuses that text instead of
 * serializing the data a second time (the larger half of a result's cost on the wire side).
 */
const written = new WeakMap<object, string>();

/** `value`, remembered as serializing to `json` (which must JSON.parse to a value deep-equal to it). */
export function withJson<T extends object>(value: T, json: string): T {
  written.set(value, json);
  return value;
}

/** One JSON-RPC message as JSON.stringify writes it, but with a tool result's known structuredContent text reused. */
export function messageJson(message: JSONRPCMessage): string {
  const result = (message as { result?: unknown }).result;
  if (!result || typeof result !== 'object' || !('structuredContent' in result)) return JSON.stringify(message);
  const { structuredContent, ...rest } = result;
  const json = structuredContent && typeof structuredContent === 'object' ? written.get(structuredContent) : undefined;
  if (json === undefined) return JSON.stringify(message);
  const head = JSON.stringify(rest);
  const body = head === '{}' ? `{"structuredContent":${json}}` : `${head.slice(0, -1)},"structuredContent":${json}}`;
  return `{"jsonrpc":"2.0","id":${JSON.stringify((message as { id: string | number }).id)},"result":${body}}`;
}

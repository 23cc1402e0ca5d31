import { nodeCrypto } from '../util/node-crypto.js';
import { stringifyOrUndefined } from '../util/json.js';

/** JSON with sorted keys, so equal requests always hash equal. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return stringifyOrUndefined(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

export const sha256 = (s: string) => nodeCrypto().createHash('sha256').update(s).digest('hex');

/** A REST write, or a hosted MCP tool call (the two backends' exact requests). */
export type DigestedRequest =
  | { org: string; kind?: undefined; method: string; path: string; body: unknown }
  | { org: string; kind: 'mcp'; tool: string; arguments: Record<string, unknown>; hasDryRun: boolean; hasIdempotencyKey: boolean };

/** What a human approves: this digest, and nothing else, may be sent. */
export function requestDigest(r: DigestedRequest): string {
  if (r.kind === 'mcp') {
    return sha256(canonicalJson({ org: r.org, kind: 'mcp', tool: r.tool, arguments: r.arguments, hasDryRun: r.hasDryRun, hasIdempotencyKey: r.hasIdempotencyKey }));
  }
  return sha256(canonicalJson({ org: r.org, method: r.method, path: r.path, body: r.body ?? null }));
}

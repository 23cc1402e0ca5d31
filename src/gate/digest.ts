import { createHash } from 'node:crypto';

/** JSON with sorted keys, so equal requests always hash equal. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

export const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

export interface ExactRequest {
  org: string;
  method: string;
  path: string;
  body: unknown;
}

/** What a human approves: this digest, and nothing else, may be sent. */
export function requestDigest(r: ExactRequest): string {
  return sha256(canonicalJson({ org: r.org, method: r.method, path: r.path, body: r.body ?? null }));
}

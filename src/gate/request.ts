import type { ZodType } from 'zod';
import type { Endpoint, HttpMethod } from '../api/contract.js';
import { LoopIqError } from '../api/errors.js';
import { requestDigest } from './digest.js';

/** The one canonical write: what is digested, shown, stored and sent. */
export interface ExactRequest {
  org: string;
  method: Extract<HttpMethod, 'POST' | 'PATCH'>;
  path: string;
  body: unknown;
}

/**
 * Builds the exact request once. A path that URL normalization would change (an id of `.` or
 * `..`, a dot-segment, `%2e`, a backslash) is refused: what a human approves is what is sent.
 */
export function exactRequest(endpoint: Endpoint<ZodType>, org: string): ExactRequest {
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

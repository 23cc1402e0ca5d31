import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { log } from '../util/log.js';
import { shrinkRecord, summarizeCuts } from '../tools/format.js';
import { parseJsonContainer } from '../util/json.js';
import { redactDeep } from '../util/redact.js';
import { sanitize } from '../util/untrusted.js';

/** Input properties that name an organization: the model never sees them; the pinned org fills them. */
export const ORG_PROPERTIES = ['organizationId', 'orgId', 'organization', 'tenantId'] as const;
/** Input properties the gate owns (preview and retry safety): hidden from the model, never taken from it. */
export const GATE_PROPERTIES = ['dryRun', 'idempotencyKey'] as const;

/** A shallow copy of `record` without `keys` (own keys only, so a JSON `__proto__` key stays data). */
export function withoutKeys(record: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([k]) => !keys.includes(k)));
}

export const WITHHELD = '[withheld: record of another organization]';

/**
 * Invariant 3 at any depth: an object whose `organizationId` is not the pinned org is removed from
 * arrays and replaced elsewhere (the whole result, if it is one). Returns the copy and the count.
 */
export function pinDeep(value: unknown, org: string): { value: unknown; withheld: number } {
  let withheld = 0;
  const foreign = (v: unknown) => !!v && typeof v === 'object' && !Array.isArray(v) && 'organizationId' in v && (v).organizationId !== org;
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) {
      const kept = v.filter((x) => !foreign(x));
      withheld += v.length - kept.length;
      return kept.map(walk);
    }
    if (v && typeof v === 'object') {
      if (foreign(v)) {
        withheld++;
        return WITHHELD;
      }
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    }
    return v;
  };
  return { value: walk(value), withheld };
}

export interface Relayed {
  /** What our own result carries: the endpoint's data, pinned, sanitized, tokens redacted. */
  data: Record<string, unknown>;
  withheld: number;
  isError: boolean;
  /** The endpoint's own error text, when it said the call failed. */
  errorText?: string;
}

/**
 * An endpoint's tool result, made as safe as a REST result: JSON text is parsed and checked like
 * structured content; other text is kept as (sanitized) text; binary content is not relayed.
 */
export function relayResult(result: CallToolResult, org: string): Relayed {
  let withheld = 0;
  const pin = (v: unknown) => {
    const p = pinDeep(v, org);
    withheld += p.withheld;
    return p.value;
  };
  const content: unknown[] = [];
  let dropped = 0;
  // Structured content, when given, is the result (its text twin is not relayed, nor counted twice).
  const structured = result.structuredContent !== undefined && !result.isError;
  for (const item of structured ? [] : result.content) {
    if (item.type === 'text') {
      const parsed = parseJsonContainer(item.text);
      content.push(parsed === undefined ? item.text : pin(parsed));
    } else if (item.type === 'resource' || item.type === 'resource_link') {
      content.push(pin(item));
    } else dropped++;
  }
  const data: Record<string, unknown> = {};
  if (structured) data.structuredContent = pin(result.structuredContent);
  else data.content = content.length === 1 ? content[0] : content;
  if (dropped) data.notRelayed = `${dropped} image/audio item(s) from the endpoint were not relayed`;
  if (withheld) log.warn(`withheld ${withheld} record(s) not belonging to ${org} from the hosted endpoint`);
  // The same size budget as REST results: long strings, then long arrays, are shortened (marked).
  const { value: clean, cuts } = shrinkRecord(redactDeep(sanitize(data)));
  if (cuts.length) {
    clean.truncated = true;
    clean.cut = summarizeCuts(cuts);
  }
  const errorText = result.isError ? content.filter((c): c is string => typeof c === 'string').join('\n') || JSON.stringify(clean).slice(0, 500) : undefined;
  return { data: clean, withheld, isError: result.isError === true, ...(errorText !== undefined ? { errorText: redactDeep(sanitize(errorText)) } : {}) };
}


import { RESPONSE_LIMITS } from './contract.js';

/**
 * One linear pass over a JSON text, before `JSON.parse`: how deep does it nest and how many
 * values does it hold? Stops at the first limit crossed, so a hostile body (a million `{}`, ten
 * thousand `[`) costs a scan, never a parse or a validation. Returns what was exceeded, or
 * undefined. Malformed JSON is left for `JSON.parse` to report.
 */
export function jsonShapeProblem(text: string, limits: { maxDepth: number; maxValues: number } = RESPONSE_LIMITS): string | undefined {
  let depth = 0;
  let values = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
      continue;
    }
    // Values ≈ containers + separators: each array element and object member is counted once.
    if (c === 34) {
      inString = true;
      continue;
    } else if (c === 123 || c === 91) {
      values++;
      if (++depth > limits.maxDepth) return `nests deeper than ${limits.maxDepth} levels`;
    } else if (c === 125 || c === 93) depth--;
    else if (c === 44) values++;
    else continue;
    if (values > limits.maxValues) return `holds more than ${limits.maxValues.toLocaleString('en-US')} values`;
  }
  return undefined;
}

/** A page (`{items: [...]}`) longer than the contract allows is refused before validation. */
export function pageProblem(parsed: unknown, maxItems: number = RESPONSE_LIMITS.maxPageItems): string | undefined {
  const items = parsed && typeof parsed === 'object' ? (parsed as { items?: unknown }).items : undefined;
  return Array.isArray(items) && items.length > maxItems ? `is a page of ${items.length} items (the contract allows ${maxItems})` : undefined;
}

/** What replaces a nested record of another organization. */
export const WITHHELD = Object.freeze({ withheld: 'record of another organization' });

/**
 * Invariant 3 at any depth: every object in `data` whose `organizationId` is not `org` is
 * withheld — removed from arrays, replaced by a marker elsewhere — and counted. A foreign record
 * at the top is `foreignRoot`: the caller refuses the whole response. Mutates `data` (a freshly
 * parsed response owned by the caller); iterative, so no nesting can overflow the stack.
 */
export function withholdForeign(data: unknown, org: string): { withheld: number; foreignRoot: boolean } {
  const foreign = (v: unknown): v is object =>
    !!v && typeof v === 'object' && !Array.isArray(v) && Object.hasOwn(v, 'organizationId') && (v as { organizationId?: unknown }).organizationId !== org;
  if (foreign(data)) return { withheld: 1, foreignRoot: true };
  let withheld = 0;
  const stack: unknown[] = [data];
  while (stack.length) {
    const node = stack.pop();
    if (!node || typeof node !== 'object') continue;
    if (Array.isArray(node)) {
      let w = 0;
      for (let r = 0; r < node.length; r++) {
        const v: unknown = node[r];
        if (foreign(v)) {
          withheld++;
          continue;
        }
        node[w++] = v;
        if (v && typeof v === 'object') stack.push(v);
      }
      node.length = w;
      continue;
    }
    const rec = node as Record<string, unknown>;
    for (const k of Object.keys(rec)) {
      const v = rec[k];
      if (foreign(v)) {
        rec[k] = { ...WITHHELD };
        withheld++;
      } else if (v && typeof v === 'object') stack.push(v);
    }
  }
  return { withheld, foreignRoot: false };
}

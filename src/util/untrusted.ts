/** Text that came from LoopIQ is data: strip what could hide instructions in it (for the model). */
import { codePointEscape, HIDDEN_SOURCE, hiddenChars } from './chars.js';
import { setOwn } from './json.js';

/** The one hidden-character class of chars.ts, minus \n and \t (harmless, and JSON-escaped anyway). */
const STRIP_SOURCE = `(?![\\n\\t])${HIDDEN_SOURCE}`;
const strip = () => new RegExp(STRIP_SOURCE, 'gu');
const STRIP_TEST = new RegExp(STRIP_SOURCE, 'u');

/**
 * Tab, newline and printable ASCII only: such text cannot hold a hidden character (all of them are
 * other controls or outside ASCII). Tested first because it is ~10× cheaper than the Unicode class.
 */
const PLAIN = /^[\t\n\x20-\x7e]*$/;

/** JSON escapes that can spell a hidden character: `\u` any of them, `\b`, `\f`, `\r` controls. */
const HIDING_ESCAPE = /\\[ubfr]/;

/**
 * Cheap pre-check on a raw JSON body: can any string in it carry a hidden character? Raw, or
 * behind an escape (whose presence alone answers yes).
 */
export function mayHideText(raw: string): boolean {
  return HIDING_ESCAPE.test(raw) || (!PLAIN.test(raw) && STRIP_TEST.test(raw));
}

export function sanitizeText(s: string): string {
  return PLAIN.test(s) || !STRIP_TEST.test(s) ? s : s.replace(strip(), '');
}

/**
 * Every string (keys included) stripped of hidden characters. Copy-on-write: returns the input
 * itself when nothing needed stripping, so applying it to every result costs one scan. Iterative,
 * so no depth of nesting can overflow the stack.
 */
export function sanitize<T>(value: T): T {
  if (typeof value === 'string') return sanitizeText(value) as T;
  if (!value || typeof value !== 'object') return value;
  // Post-order over containers: children are finished before their parent is rebuilt.
  const done = new Map<object, unknown>();
  const stack: { node: object; expanded: boolean }[] = [{ node: value, expanded: false }];
  for (let top = stack.at(-1); top; top = stack.at(-1)) {
    if (done.has(top.node)) {
      stack.pop();
      continue;
    }
    if (!top.expanded) {
      top.expanded = true;
      for (const v of Object.values(top.node) as unknown[]) if (v && typeof v === 'object' && !done.has(v)) stack.push({ node: v, expanded: false });
      continue;
    }
    stack.pop();
    done.set(top.node, rebuild(top.node, done));
  }
  return done.get(value) as T;
}

/** `node` with its children cleaned: the node itself when none changed (nothing is copied). */
function rebuild(node: object, done: Map<object, unknown>): unknown {
  const clean = (v: unknown) => (typeof v === 'string' ? sanitizeText(v) : v && typeof v === 'object' ? done.get(v) : v);
  if (Array.isArray(node)) {
    const items = node as unknown[];
    let out: unknown[] | undefined;
    for (let i = 0; i < items.length; i++) {
      const v = items[i];
      const c = clean(v);
      if (out) out.push(c);
      else if (c !== v) (out = items.slice(0, i)).push(c);
    }
    return out ?? node;
  }
  const record = node as Record<string, unknown>;
  const keys = Object.keys(record);
  let out: Record<string, unknown> | undefined;
  let i = 0;
  for (const k of keys) {
    const v = record[k];
    const ck = sanitizeText(k);
    const cv = clean(v);
    if (!out && (ck !== k || cv !== v)) {
      out = {};
      for (const before of keys.slice(0, i)) setOwn(out, before, record[before]);
    }
    if (out) setOwn(out, ck, cv);
    i++;
  }
  return out ?? node;
}

/**
 * For what a human approves: show hidden characters as visible escapes instead of removing
 * them, so the text on screen is exactly what will be written.
 */
export function revealInvisible(s: string): string {
  return s.replace(hiddenChars(), codePointEscape);
}

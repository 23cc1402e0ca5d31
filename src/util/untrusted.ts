/** Text that came from LoopIQ records is data: strip what could hide instructions in it. */

/** Zero-width, bidi controls, tag characters and other invisibles used to hide instructions. */
// eslint-disable-next-line no-misleading-character-class
const INVISIBLE = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F\u00AD\u061C\u180E\u200B-\u200F\u202A-\u202E\u2060-\u206F\uFEFF\uFFF9-\uFFFB]|\uDB40[\uDC00-\uDC7F]/g;

const INVISIBLE_TEST = new RegExp(INVISIBLE.source);

/** Cheap pre-check on a raw JSON body: can any string in it carry invisible characters? */
export function mayHideText(raw: string): boolean {
  return raw.includes('\\u') || INVISIBLE_TEST.test(raw);
}

export function sanitizeText(s: string): string {
  return s.replace(INVISIBLE, '');
}

/** Deep copy with every string stripped of invisible and bidi control characters. */
export function sanitize<T>(value: T): T {
  if (typeof value === 'string') return sanitizeText(value) as T;
  if (Array.isArray(value)) return value.map(sanitize) as T;
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = sanitize(v);
    return out as T;
  }
  return value;
}

/**
 * For what a human approves: show invisible characters as visible escapes instead of removing
 * them, so the text on screen is exactly what will be written.
 */
export function revealInvisible(s: string): string {
  return s.replace(INVISIBLE, (ch) => `\\u{${(ch.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}}`);
}

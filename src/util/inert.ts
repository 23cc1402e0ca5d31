import { hiddenChars } from './chars.js';
import { stringifyOrUndefined } from './json.js';

const READABLE: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * A model- or API-supplied string made safe for a terminal, a dialog or an elicitation: every
 * hidden or control character becomes a visible escape (`\n`, `\u{202E}`), and `\` itself is
 * doubled, so the rendering is unambiguous and decodes back to exactly the original (see `uninert`).
 */
export function inert(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(hiddenChars(), (ch) => READABLE[ch] ?? `\\u{${(ch.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}}`);
}

/** The inverse of `inert`, for tests and for checking that what was shown is what will be sent. */
export function uninert(s: string): string {
  return s.replace(/\\(\\|n|r|t|u\{([0-9A-F]+)\})/g, (_m, what: string, hex: string | undefined) =>
    hex !== undefined ? String.fromCodePoint(parseInt(hex, 16)) : what === '\\' ? '\\' : what === 'n' ? '\n' : what === 'r' ? '\r' : '\t',
  );
}

/**
 * Pretty JSON in which every hidden character is a `\uXXXX` escape: still valid JSON, and
 * `JSON.parse` of the text gives back exactly `value`. What a human approves is shown this way.
 */
export function inertJson(value: unknown, indent = 2): string {
  const text = stringifyOrUndefined(value, indent) ?? 'null';
  // Raw newlines in the output are indentation (JSON escapes those inside strings).
  return text.replace(hiddenChars(), (ch) => {
    if (ch === '\n') return ch;
    let out = '';
    for (let i = 0; i < ch.length; i++) out += `\\u${ch.charCodeAt(i).toString(16).toUpperCase().padStart(4, '0')}`;
    return out;
  });
}

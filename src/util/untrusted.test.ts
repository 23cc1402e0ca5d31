import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HIDDEN_SOURCE } from './chars.js';
import { mayHideText, revealInvisible, sanitize, sanitizeText } from './untrusted.js';

const HIDDEN = new RegExp(HIDDEN_SOURCE, 'u');
const isHidden = (ch: string) => HIDDEN.test(ch) && ch !== '\n' && ch !== '\t';

/** Every code point of Unicode, lone surrogates included. */
const everyCodePoint = () => {
  const out: string[] = [];
  for (let cp = 0; cp <= 0x10ffff; cp++) out.push(String.fromCodePoint(cp));
  return out;
};

describe('untrusted record text', () => {
  it('the plain-ASCII shortcut changes nothing: sanitizeText is the hidden-character strip, and mayHideText the full test, for any text', () => {
    const strip = new RegExp(`(?![\\n\\t])${HIDDEN_SOURCE}`, 'gu');
    const units = fc.string({ unit: fc.oneof(fc.constantFrom('\t', '\n', '\r', '\f', '\b', '\u007f', '\u200b', '\u202e', '\ud800', 'a', '~', ' ', '"', '\\'), fc.string({ unit: 'binary', maxLength: 1 })), maxLength: 40 });
    fc.assert(
      fc.property(units, (s) => {
        expect(sanitizeText(s)).toBe(s.replace(strip, ''));
        const raw = JSON.stringify({ t: s });
        expect(mayHideText(raw)).toBe(/\\[ubfr]/.test(raw) || new RegExp(`(?![\\n\\t])${HIDDEN_SOURCE}`, 'u').test(raw));
      }),
      { numRuns: 2000 },
    );
  });

  it('detects hidden characters raw or behind JSON \\u escapes', () => {
    expect(mayHideText('{"t":"plain text, émoji ✓"}')).toBe(false);
    expect(mayHideText('{"t":"a\u202Eb"}')).toBe(true);
    expect(mayHideText(JSON.stringify({ t: 'x' }).replace('x', '\\u200b'))).toBe(true);
    // The short escapes of controls, found by the property below: \f, \b, \r hide C0 characters too.
    for (const ch of ['\f', '\b', '\r']) expect(mayHideText(JSON.stringify({ t: ch })), JSON.stringify(ch)).toBe(true);
    expect(mayHideText(JSON.stringify({ t: 'a\nb\tc' }))).toBe(false);
    for (const ch of ['\u3164', '\uFE0F', '\u{E0041}', '\u2028', '\u0085', '\u115F', '\u{1D173}']) expect(mayHideText(`{"t":"${ch}"}`), ch).toBe(true);
  });

  it('strips zero-width, bidi and tag characters deep inside records, keys included', () => {
    const parsed: unknown = JSON.parse('{"a":["ok\\u200B","\\u202Eevil\\u202C"],"b":{"c":"\\uDB40\\uDC41tag"},"k\\u2066":1}');
    expect(sanitize(parsed)).toEqual({ a: ['ok', 'evil'], b: { c: 'tag' }, k: 1 });
  });

  it('sanitize equals a plain recursive strip on any JSON value, and copies nothing that did not change', () => {
    const strip = new RegExp(`(?![\\n\\t])${HIDDEN_SOURCE}`, 'gu');
    const reference = (v: unknown): unknown => {
      if (typeof v === 'string') return v.replace(strip, '');
      if (Array.isArray(v)) return v.map(reference);
      if (v && typeof v === 'object') {
        const out: Record<string, unknown> = {};
        for (const [k, x] of Object.entries(v)) Object.defineProperty(out, k.replace(strip, ''), { value: reference(x), enumerable: true, writable: true, configurable: true });
        return out;
      }
      return v;
    };
    const text = fc.string({ unit: fc.oneof(fc.constantFrom('a', 'b', '\u200b', '\u202e', '\n', '_', 'proto'), fc.string({ unit: 'binary', maxLength: 1 })), maxLength: 6 });
    const value = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: 'small' }, text, fc.integer(), fc.constant(null), fc.array(tie('node'), { maxLength: 4 }), fc.dictionary(text, tie('node'), { maxKeys: 4 })),
    })).node;
    fc.assert(
      fc.property(value, (v) => {
        const parsed: unknown = JSON.parse(JSON.stringify(v));
        const clean = sanitize(parsed);
        expect(clean).toStrictEqual(reference(parsed));
        // Copy-on-write: an unchanged value is the very same object.
        if (JSON.stringify(reference(parsed)) === JSON.stringify(parsed)) expect(clean).toBe(parsed);
      }),
      { numRuns: 1500 },
    );
  });

  it('over every code point of Unicode: exactly the hidden class of chars.ts goes, everything else (and \\n, \\t) stays', () => {
    const all = everyCodePoint();
    const kept = sanitizeText(all.join(''));
    const expected = all.filter((ch) => !isHidden(ch)).join('');
    expect(kept).toBe(expected);
    // The categories the issue names, by example: Cc, Cf, Zl, Zp, variation selectors, tags, fillers, C1.
    for (const ch of ['\u0000', '\u0085', '\u009B', '\u00AD', '\u061C', '\u200B', '\u200D', '\u2028', '\u2029', '\u202E', '\u2066', '\uFE00', '\uFE0F', '\u{E0100}', '\u{E0001}', '\u{E007F}', '\u3164', '\u115F', '\u1160', '\uFFA0', '\u2800', '\uFEFF', '\u{1BCA0}']) {
      expect(sanitizeText(`a${ch}b`), ch.codePointAt(0)!.toString(16)).toBe('ab');
    }
    expect(sanitizeText('line\nnext\ttab')).toBe('line\nnext\ttab');
  });

  it('property: for any string over all of Unicode, nothing hidden survives, the visible text is kept in order, and the raw JSON was flagged', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (s) => {
        const clean = sanitizeText(s);
        // Code points, not graphemes: chars.ts classifies each code point.
        expect(Array.from(clean).some(isHidden)).toBe(false);
        expect(clean).toBe(Array.from(s).filter((ch) => !isHidden(ch)).join(''));
        expect(sanitizeText(clean)).toBe(clean);
        if (clean !== s) expect(mayHideText(JSON.stringify({ s }))).toBe(true);
        expect(sanitize({ [s]: [s, { s }] })).toEqual({ [clean]: [clean, { s: clean }] });
      }),
      { numRuns: 2_000 },
    );
  });

  it('returns the very same object when nothing needed stripping (no copy on the hot path)', () => {
    const rec = { a: ['x', { b: 'y' }], n: 1, z: null };
    expect(sanitize(rec)).toBe(rec);
  });

  it('handles nesting far deeper than any stack allows', () => {
    let deep: unknown = 'x\u200B';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    let out = sanitize(deep);
    for (let i = 0; i < 100_000; i++) out = (out as unknown[])[0];
    expect(out).toBe('x');
  });

  it('reveals hidden characters for humans instead of removing them', () => {
    expect(revealInvisible('a\u202Eb\u3164')).toBe('a\\u{202E}b\\u{3164}');
  });
});

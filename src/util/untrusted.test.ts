import { describe, expect, it } from 'vitest';
import { mayHideText, sanitize } from './untrusted.js';

describe('untrusted record text', () => {
  it('detects invisible characters raw or hidden behind JSON \\u escapes', () => {
    expect(mayHideText('{"t":"plain text, émoji ✓"}')).toBe(false);
    expect(mayHideText('{"t":"a\u202Eb"}')).toBe(true);
    expect(mayHideText(JSON.stringify({ t: 'x' }).replace('x', '\\u200b'))).toBe(true);
  });

  it('strips zero-width, bidi and tag characters deep inside records', () => {
    const parsed = JSON.parse('{"a":["ok\\u200B","\\u202Eevil\\u202C"],"b":{"c":"\\uDB40\\uDC41tag"}}');
    expect(sanitize(parsed)).toEqual({ a: ['ok', 'evil'], b: { c: 'tag' } });
  });
});

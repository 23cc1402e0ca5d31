import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { hasHidden } from './chars.js';
import { inert, inertJson, uninert } from './inert.js';
import { isLoopbackHost, secureUrl } from './loopback.js';
import { addSecret, clearSecrets, redact, redactDeep } from './redact.js';

const anyString = fc.string({ unit: 'binary', maxLength: 60 });

describe('inert rendering', () => {
  it('leaves no control or hidden character, and decodes back to the original', () => {
    fc.assert(
      fc.property(anyString, (s) => {
        const shown = inert(s);
        expect(hasHidden(shown)).toBe(false);
        // eslint-disable-next-line no-control-regex -- the assertion is that no control character is left
        expect(/[\u0000-\u001F\u007F-\u009F]/.test(shown)).toBe(false);
        expect(uninert(shown)).toBe(s);
      }),
      { numRuns: 500 },
    );
  });

  it('escapes terminal tricks visibly', () => {
    expect(inert('ok\r\u001B[2KAction: delete\u202E\u009B31m\u2028')).toBe('ok\\r\\u{001B}[2KAction: delete\\u{202E}\\u{009B}31m\\u{2028}');
    expect(inert('C:\\path \\u{202E}')).toBe('C:\\\\path \\\\u{202E}');
  });

  it('inert JSON is valid JSON that parses to exactly the value', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 3 }), anyString, (v, s) => {
        const value = { v, s, [s]: 1 };
        const shown = inertJson(value);
        expect(hasHidden(shown.replace(/\n/g, ''))).toBe(false);
        // Equal to what is sent: the JSON text of the value (so -0 is 0, as on the wire).
        expect(JSON.parse(shown)).toEqual(JSON.parse(JSON.stringify(value)));
      }),
      { numRuns: 300 },
    );
  });
});

describe('redaction', () => {
  afterEach(clearSecrets);
  it('removes every known secret, in plain, URL-encoded and base64 form, deep in values and keys', () => {
    const token = 'lqp_s3cr3t+/token=value';
    addSecret(token);
    expect(redact(`echo ${token} and ${encodeURIComponent(token)}`)).toBe('echo [REDACTED] and [REDACTED]');
    expect(redact(Buffer.from(token).toString('base64'))).not.toContain(Buffer.from(token).toString('base64').slice(0, 20));
    expect(redactDeep({ a: [`x${token}`], [token]: token })).toEqual({ a: ['x[REDACTED]'], '[REDACTED]': '[REDACTED]' });
  });
  it('returns the same object when nothing matched (no copy on the hot path)', () => {
    addSecret('lqp_abcdefgh');
    const v = { a: ['b', { c: 'd' }] };
    expect(redactDeep(v)).toBe(v);
  });
});

describe('loopback', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.1.2.3', true],
    ['localhost', true],
    ['[::1]', true],
    ['127.evil.example', false],
    ['127.0.0.1.nip.io', false],
    ['localhost.evil.example', false],
    ['128.0.0.1', false],
    ['[::ffff:127.0.0.1]', false],
  ])('%s → %s', (host, ok) => { expect(isLoopbackHost(host)).toBe(ok); });

  it('refuses plain http to anything but this machine, and credentials', () => {
    expect(() => secureUrl('http://127.evil.example', 'LOOPIQ_API_URL')).toThrow(/LOOPIQ_API_URL.*not https/);
    expect(() => secureUrl('http://127.0.0.1.nip.io:80', '--api-url')).toThrow(/not https/);
    expect(() => secureUrl('https://u:p@ai.loopiq.com', '--api-url')).toThrow(/credentials/);
    expect(() => secureUrl('foo:bar', '--api-url')).toThrow(/not https/);
    expect(secureUrl('http://127.1:8787/x', '--api-url').hostname).toBe('127.0.0.1');
    expect(secureUrl('http://[::1]:8787', '--api-url').hostname).toBe('[::1]');
  });
});

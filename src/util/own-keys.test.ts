import { afterEach, describe, expect, it } from 'vitest';
import { addSecret, clearSecrets, redactDeep } from './redact.js';
import { sanitize } from './untrusted.js';

afterEach(clearSecrets);

describe('deep copies keep a "__proto__" key as data, never as a prototype', () => {
  it('sanitize: a key that becomes "__proto__" once cleaned stays an own key', () => {
    const parsed = JSON.parse('{"\\u0000__proto__": {"organizationId": "org_acme"}, "id": "x"}') as Record<string, unknown>;
    const clean = sanitize(parsed);
    expect(Object.getPrototypeOf(clean)).toBe(Object.prototype);
    expect(Object.keys(clean)).toEqual(['__proto__', 'id']);
    expect((clean as { organizationId?: unknown }).organizationId).toBeUndefined();
  });

  it('redactDeep: a parsed "__proto__" key survives a copy without becoming the prototype', () => {
    addSecret('lqp_secret_value_1');
    const parsed = JSON.parse('{"__proto__": {"organizationId": "org_acme"}, "note": "lqp_secret_value_1"}') as Record<string, unknown>;
    const copy = redactDeep(parsed);
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    expect(Object.keys(copy)).toEqual(['__proto__', 'note']);
    expect((copy as { organizationId?: unknown }).organizationId).toBeUndefined();
    expect(copy.note).toBe('[REDACTED]');
  });
});

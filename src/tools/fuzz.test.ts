import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectInProcess } from '../../test/support/in-process.js';
import { ALL_TOOLS } from './index.js';

let conn: Awaited<ReturnType<typeof connectInProcess>>;
beforeAll(async () => {
  conn = await connectInProcess({ org: 'acme', channels: ['terminal'] });
});
afterAll(() => conn.close());

/** Arguments built from the tool's own field names (so validation is really exercised) plus junk. */
function argsFor(fields: string[]) {
  const value = fc.oneof(
    fc.anything(),
    fc.string(),
    fc.constantFrom('', ' ', '../../etc/passwd', 'wi_acme_1', '{"a":1}', '[1,2]', 'null', '\u202Ehidden', 'x'.repeat(30_000)),
    fc.integer({ min: -1e9, max: 1e9 }),
    fc.array(fc.string(), { maxLength: 3 }),
  );
  return fc.dictionary(fc.oneof(fc.constantFrom(...(fields.length ? fields : ['x'])), fc.string({ maxLength: 8 })), value, { maxKeys: 6 });
}

describe('property-based fuzzing of every tool', () => {
  it.each(ALL_TOOLS.map((t) => [t.name, Object.keys(t.input() as Record<string, unknown>)] as const))('%s: never crashes; every rejection names the field', async (name, fields) => {
    await fc.assert(
      fc.asyncProperty(argsFor(fields), async (args) => {
        const r = await conn.call(name, args);
        expect(Array.isArray(r.content)).toBe(true);
        const text = r.content[0]!.text;
        expect(typeof text).toBe('string');
        if (r.isError && text.includes('Input validation error')) {
          const problems = text.split(/: (?=[A-Z])/).slice(1).join(': ').split('\n');
          for (const p of problems) {
            const field = / at (\w+)[\w.[\]]*$/.exec(p)?.[1];
            expect(field, `${name}: "${p}" does not name a field`).toBeDefined();
            expect(fields).toContain(field);
          }
        }
      }),
      { numRuns: 100, seed: 20261125 },
    );
    // Still serving after the storm.
    expect((await conn.call('loopiq_whoami')).isError).toBeFalsy();
  });
});

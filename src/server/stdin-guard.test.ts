import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { guardStdin } from './stdin-guard.js';

function run(chunks: (string | Buffer)[], max = 20) {
  const input = new PassThrough();
  const replies: string[] = [];
  let out = '';
  guardStdin(input, (l) => replies.push(l), max).on('data', (b: Buffer) => (out += b.toString()));
  for (const c of chunks) input.write(c);
  return new Promise<{ out: string; replies: string[] }>((r) => setImmediate(() => r({ out, replies })));
}

describe('stdin guard', () => {
  const A = '{"jsonrpc":"2.0","id":1,"method":"a"}';
  const B = '{"jsonrpc":"2.0","id":2,"method":"b"}';
  it('passes whole lines through, joining lines split across chunks', async () => {
    const r = await run([`${A}\n${B.slice(0, 9)}`, `${B.slice(9)}\n${A}`, '\n'], 100);
    expect(r.out).toBe(`${A}\n${B}\n${A}\n`);
    expect(r.replies).toEqual([]);
  });

  it('drops an over-long line (even split over chunks), answers it, and keeps the next ones', async () => {
    const r = await run([`${A}\n{"x":"`, 'a'.repeat(100), `"}\n${B}\n`], 60);
    expect(r.out).toBe(`${A}\n${B}\n`);
    expect(r.replies).toHaveLength(1);
    expect(JSON.parse(r.replies[0]!)).toMatchObject({ id: null, error: { code: -32600 } });
  });

  it('drops an over-long line inside a single chunk between good ones', async () => {
    const r = await run([`${A}\n${'b'.repeat(80)}\n${B}\n`], 60);
    expect(r.out).toBe(`${A}\n${B}\n`);
    expect(r.replies).toHaveLength(1);
  });
});

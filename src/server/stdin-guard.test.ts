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
  it('passes whole lines through, joining lines split across chunks', async () => {
    const r = await run(['{"a":1}\n{"b"', ':2}\n{"c":3}', '\n']);
    expect(r.out).toBe('{"a":1}\n{"b":2}\n{"c":3}\n');
    expect(r.replies).toEqual([]);
  });

  it('drops an over-long line (even split over chunks), answers it, and keeps the next ones', async () => {
    const r = await run(['{"ok":1}\n{"x":"', 'a'.repeat(30), '"}\n{"ok":2}\n']);
    expect(r.out).toBe('{"ok":1}\n{"ok":2}\n');
    expect(r.replies).toHaveLength(1);
    expect(JSON.parse(r.replies[0]!)).toMatchObject({ id: null, error: { code: -32600 } });
  });

  it('drops an over-long line inside a single chunk between good ones', async () => {
    const r = await run([`{"ok":1}\n${'b'.repeat(40)}\n{"ok":2}\n`]);
    expect(r.out).toBe('{"ok":1}\n{"ok":2}\n');
    expect(r.replies).toHaveLength(1);
  });
});

import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { guardStdin, judgeMessage } from './stdin-guard.js';

function run(chunks: (string | Buffer)[], max = 20) {
  const input = new PassThrough();
  const replies: string[] = [];
  let out = '';
  guardStdin(input, (l) => replies.push(l), max).on('message', (m: unknown) => (out += `${JSON.stringify(m)}\n`));
  for (const c of chunks) input.write(c);
  return new Promise<{ out: string; replies: string[] }>((r) => setImmediate(() => { r({ out, replies }); }));
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

describe('judging each message', () => {
  const tools = new Set(['loopiq_whoami']);
  const answer = (line: string) => {
    const v = judgeMessage(line, tools);
    return v.forward ? 'forward' : v.reply ? { id: v.reply.id, code: v.reply.code } : 'ignored';
  };

  it('forwards valid requests, notifications and responses', () => {
    expect(answer('{"jsonrpc":"2.0","id":1,"method":"ping"}')).toBe('forward');
    expect(answer('{"jsonrpc":"2.0","id":"a","method":"tools/call","params":{"name":"loopiq_whoami","arguments":{}}}')).toBe('forward');
    expect(answer('{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"loopiq_whoami"}}')).toBe('forward');
    expect(answer('{"jsonrpc":"2.0","method":"notifications/initialized"}')).toBe('forward');
    expect(answer('{"jsonrpc":"2.0","id":3,"result":{}}')).toBe('forward');
    expect(answer('{"jsonrpc":"2.0","id":4,"error":{"code":-1,"message":"x"}}')).toBe('forward');
  });

  it('never answers a response, however malformed', () => {
    expect(answer('{"jsonrpc":"1.0","id":3,"result":{}}')).toBe('ignored');
    expect(answer('{"jsonrpc":"2.0","id":null,"result":{}}')).toBe('ignored');
    expect(answer('{"jsonrpc":"2.0","id":5,"error":"nope"}')).toBe('ignored');
  });

  it('answers what the SDK would drop without a word', () => {
    expect(answer('{"jsonrpc":"2.0","id":1.5,"method":"ping"}')).toEqual({ id: null, code: -32600 });
    expect(answer('{"jsonrpc":"2.0","id":6,"method":"ping","params":null}')).toEqual({ id: 6, code: -32600 });
    expect(answer('{"jsonrpc":"2.0","id":7,"method":"ping","params":{"_meta":5}}')).toEqual({ id: 7, code: -32600 });
    expect(answer('"just a string"')).toEqual({ id: null, code: -32600 });
    expect(answer('null')).toEqual({ id: null, code: -32600 });
  });

  it('without a tool list, any tool name is left to the server', () => {
    expect(judgeMessage('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"other"}}').forward).toBe(true);
  });
});

import { PassThrough } from 'node:stream';
import { JSONRPCMessageSchema } from '@modelcontextprotocol/sdk/types.js';
import fc from 'fast-check';
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

  it('a tools/call request is forwarded exactly when the SDK schema would take it and its name and arguments are usable', () => {
    // judgeMessage checks a call by hand instead of parsing it against the SDK's schema (the
    // ToolCallLane serves it without the SDK): the two must agree on every message.
    const RELATED = 'io.modelcontextprotocol/related-task';
    const odd = fc.oneof(fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.constant(2 ** 53), fc.constant(-0), fc.array(fc.integer(), { maxLength: 2 }));
    // Each slot: absent (undefined is dropped by JSON.stringify), a good value, or anything.
    const slot = <T,>(good: fc.Arbitrary<T>) => fc.oneof({ arbitrary: fc.constant(undefined), weight: 2 }, { arbitrary: good, weight: 5 }, { arbitrary: odd, weight: 1 });
    const rare = fc.oneof({ arbitrary: fc.constant(undefined), weight: 8 }, { arbitrary: odd, weight: 1 });
    const meta = slot(fc.record({ progressToken: slot(fc.oneof(fc.string(), fc.integer())), [RELATED]: slot(fc.record({ taskId: slot(fc.string()), more: rare })), other: rare }));
    const params = fc.record({ name: slot(fc.constant('loopiq_whoami')), arguments: slot(fc.dictionary(fc.string(), odd, { maxKeys: 2 })), _meta: meta, extra: rare });
    const message = fc.record({ jsonrpc: slot(fc.constant('2.0')), id: slot(fc.oneof(fc.string(), fc.integer())), method: fc.constant('tools/call'), params, stray: rare, ['__proto__']: rare });
    let forwarded = 0;
    fc.assert(
      fc.property(message, (m) => {
        const line = JSON.stringify(m);
        const sent = JSON.parse(line) as { params: { name?: unknown; arguments?: unknown } };
        const args = sent.params.arguments;
        const usable = typeof sent.params.name === 'string' && (args === undefined || (typeof args === 'object' && args !== null && !Array.isArray(args)));
        const expected = usable && JSONRPCMessageSchema.safeParse(sent).success;
        expect(judgeMessage(line).forward).toBe(expected);
        if (expected) forwarded++;
      }),
      { numRuns: 5_000 },
    );
    // Both sides of the boundary were exercised.
    expect(forwarded).toBeGreaterThan(500);
  });

  it('without a tool list, any tool name is left to the server', () => {
    expect(judgeMessage('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"other"}}').forward).toBe(true);
  });
});

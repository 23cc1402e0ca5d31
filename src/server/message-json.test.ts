import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addSecret, redact } from '../util/redact.js';
import { messageJson, withJson } from './message-json.js';
import { toolResult } from './server.js';

/** JSON with every object's keys sorted: equal for equal values, whatever the key order (and a key "constructor" is just a key). */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`;
  return JSON.stringify(v);
}

describe('the line a tool result is sent as', () => {
  it('reads back exactly as JSON.stringify of the message would, for any data', () => {
    const text = fc.string({ unit: fc.oneof(fc.constantFrom('<', '>', '"', '\\', '\u2028', '\u200b', 'é', '/', 'a'), fc.string({ unit: 'binary', maxLength: 1 })), maxLength: 8 });
    const json = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: 'small' }, text, fc.double(), fc.integer(), fc.boolean(), fc.constant(null), fc.array(tie('node'), { maxLength: 3 }), fc.dictionary(fc.oneof(text, fc.constantFrom('__proto__', 'dataNote', 'constructor')), tie('node'), { maxKeys: 3 })),
    })).node;
    fc.assert(
      fc.property(fc.dictionary(fc.oneof(text, fc.constantFrom('__proto__', 'dataNote')), json, { maxKeys: 4 }), text, fc.boolean(), fc.oneof(fc.integer(), text), (raw, ours, isError, id) => {
        const data = JSON.parse(JSON.stringify(raw)) as Record<string, unknown>;
        const message = { jsonrpc: '2.0' as const, id, result: toolResult(undefined, ours, data, isError) };
        const line = messageJson(message);
        expect(canonical(JSON.parse(line))).toBe(canonical(JSON.parse(JSON.stringify(message))));
        expect(line).not.toContain('\n');
      }),
      { numRuns: 1500 },
    );
  });

  it('reuses the remembered text, and only for the object it was remembered for', () => {
    const structuredContent = withJson({ a: 1 }, '{"a":1,"marker":true}');
    expect(JSON.parse(messageJson({ jsonrpc: '2.0', id: 7, result: { content: [], structuredContent } }))).toEqual({ jsonrpc: '2.0', id: 7, result: { content: [], structuredContent: { a: 1, marker: true } } });
    expect(JSON.parse(messageJson({ jsonrpc: '2.0', id: 'x', result: { content: [], structuredContent: { a: 1 } } }))).toEqual({ jsonrpc: '2.0', id: 'x', result: { content: [], structuredContent: { a: 1 } } });
    expect(messageJson({ jsonrpc: '2.0', id: 1, error: { code: -1, message: 'm' } })).toBe('{"jsonrpc":"2.0","id":1,"error":{"code":-1,"message":"m"}}');
  });

  it('a known secret with characters JSON escapes is redacted from the written line, in both copies', () => {
    // LOOPIQ_TOKEN can be any string: the sink must find it however the line spells it.
    for (const secret of ['tok<en-12345', 'to"ken-12345', 'tok\\en-12345', 'tok\ten<"\\x-12345']) {
      addSecret(secret);
      const message = { jsonrpc: '2.0' as const, id: 1, result: toolResult(undefined, 'ours', { record: { echoed: secret, nested: [`a ${secret} b`] } }) };
      const line = redact(messageJson(message));
      const read = JSON.parse(line) as { result: { content: { text: string }[]; structuredContent: unknown } };
      // The text copy: what the model reads is the fence's JSON, decoded.
      const fence = /<loopiq-data[^>]*>\n(.*)\n<\/loopiq-data>/s.exec(read.result.content[0]!.text)?.[1] ?? '';
      expect(JSON.stringify(JSON.parse(fence)), secret).not.toContain(JSON.stringify(secret).slice(1, -1));
      expect(fence, secret).toContain('[REDACTED]');
      expect(JSON.stringify(read.result.structuredContent), secret).not.toContain(JSON.stringify(secret).slice(1, -1));
      expect(line).toContain('[REDACTED]');
    }
  });

  it('structuredContent keys are spelled as JSON.stringify spells them, so a client parser that misreads \\u-escaped keys reads them right', () => {
    const line = messageJson({ jsonrpc: '2.0', id: 1, result: toolResult(undefined, '', { '<': 1, record: { '<': 2 } }) });
    expect(line.slice(line.indexOf('"structuredContent"'))).not.toContain('\\u003c');
    // Node 24.21's JSON.parse, after a key "\\" in an object of the same shape, reads a key spelled
    // "\\u003c" as "\\" (on other Nodes this only parses): the line must not depend on that.
    JSON.parse(JSON.stringify({ dataNote: 'x', '\\': 1 }));
    const read = JSON.parse(line) as { result: { structuredContent: Record<string, unknown> } };
    expect(Object.keys(read.result.structuredContent)).toEqual(['dataNote', '<', 'record']);
  });
});

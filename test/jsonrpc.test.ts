import { spawn } from 'node:child_process';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type RunningSandbox } from '../src/sandbox/fake-loopiq.js';
import { SANDBOX_TOKENS } from '../src/sandbox/seed.js';
import { baseEnv, CLI, connectCli, tempHome } from './support/cli.js';

let sandbox: RunningSandbox;
beforeAll(async () => {
  sandbox = await startSandbox();
});
afterAll(() => sandbox.close());

const env = () => baseEnv({ ...tempHome().env, LOOPIQ_API_URL: sandbox.url, LOOPIQ_TOKEN: SANDBOX_TOKENS.alex, LOOPIQ_ORG: 'acme' });

const INIT = '{"jsonrpc":"2.0","id":"init","method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}';

/** Each malformed input, and the answer the JSON-RPC 2.0 spec (and MCP 2025-11-25) gives it. */
const CASES: [string, string, { id: string | number | null; code: number }][] = [
  ['invalid JSON', '{"jsonrpc":"2.0","id":1,"method":', { id: null, code: -32700 }],
  ['a batch', '[{"jsonrpc":"2.0","id":2,"method":"ping"}]', { id: null, code: -32600 }],
  ['an empty batch', '[]', { id: null, code: -32600 }],
  ['a number', '42', { id: null, code: -32600 }],
  ['jsonrpc "1.0"', '{"jsonrpc":"1.0","id":3,"method":"ping"}', { id: 3, code: -32600 }],
  ['no jsonrpc at all', '{"id":4,"method":"ping"}', { id: 4, code: -32600 }],
  ['id: null', '{"jsonrpc":"2.0","id":null,"method":"ping"}', { id: null, code: -32600 }],
  ['an object id', '{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}', { id: null, code: -32600 }],
  ['a non-string method', '{"jsonrpc":"2.0","id":5,"method":7}', { id: 5, code: -32600 }],
  ['string params', '{"jsonrpc":"2.0","id":6,"method":"ping","params":"bar"}', { id: 6, code: -32600 }],
  ['neither request nor response', '{"jsonrpc":"2.0","id":7}', { id: 7, code: -32600 }],
  ['tools/call without name', '{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"arguments":{}}}', { id: 8, code: -32602 }],
  ['tools/call with a numeric name', '{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":5}}', { id: 9, code: -32602 }],
  ['tools/call with non-object arguments', '{"jsonrpc":"2.0","id":10,"method":"tools/call","params":{"name":"loopiq_whoami","arguments":"x"}}', { id: 10, code: -32602 }],
  ['tools/call with array arguments', '{"jsonrpc":"2.0","id":11,"method":"tools/call","params":{"name":"loopiq_whoami","arguments":[1]}}', { id: 11, code: -32602 }],
  ['tools/call of an unknown tool', '{"jsonrpc":"2.0","id":12,"method":"tools/call","params":{"name":"loopiq_drop_database","arguments":{}}}', { id: 12, code: -32602 }],
  ['positional params', '{"jsonrpc":"2.0","id":13,"method":"tools/list","params":[1]}', { id: 13, code: -32602 }],
  // A notification whose structure is invalid is an invalid Request: answered, with id null (JSON-RPC §5 example).
  ['a notification with string params', '{"jsonrpc":"2.0","method":"notifications/x","params":"bar"}', { id: null, code: -32600 }],
];

describe('malformed JSON-RPC on stdin, against the built server', () => {
  it('each gets its spec answer, one short stderr line, and the server keeps serving', async () => {
    const child = spawn(process.execPath, [CLI, 'serve'], { env: env(), stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.stdin.write(`${INIT}\n{"jsonrpc":"2.0","method":"notifications/initialized"}\n`);
    for (const [, line] of CASES) child.stdin.write(`${line}\n`);
    // A well-formed notification and a response are never answered, even when meaningless.
    child.stdin.write('{"jsonrpc":"2.0","method":"tools/call","params":{}}\n{"jsonrpc":"2.0","id":99,"result":{}}\n');
    child.stdin.write('{"jsonrpc":"2.0","id":"last","method":"ping"}\n');
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => { reject(new Error(`no answer to "last"; stdout: ${out.slice(0, 1000)}`)); }, 15_000);
      const check = () => {
        if (out.includes('"id":"last"')) {
          clearTimeout(t);
          resolve();
        }
      };
      child.stdout.on('data', check);
      check();
    });
    child.stdin.end();
    await new Promise((r) => child.on('exit', r));

    const messages = out.trim().split('\n').map((l) => JSON.parse(l) as { id: unknown; error?: { code: number; message: string }; result?: unknown });
    const errors = messages.filter((m) => m.error);
    // Exactly one answer per malformed request, in order, each with the spec's id and code.
    expect(errors.map((m) => ({ id: m.id, code: m.error!.code }))).toEqual(CASES.map(([, , want]) => want));
    for (const m of errors) expect(m.error!.message.length).toBeLessThan(120);
    expect(messages.find((m) => m.id === 'last')?.result).toEqual({});
    expect(messages.find((m) => m.id === 99)).toBeUndefined();
    // One short line per refusal on stderr (none for the valid messages), never a schema dump.
    // (The stray response is well-formed: the SDK gets it and drops it quietly.)
    const lines = err.trim().split('\n');
    expect(lines).toHaveLength(CASES.length + 1);
    expect(lines.at(-1)).toBe('loopiq-mcp warn: ignored a notification with tools/call without a name on stdin');
    for (const l of lines) expect(l).toMatch(/^loopiq-mcp warn: (answered|ignored) [^\n]{5,80} on stdin$/);
    expect(err).not.toMatch(/ZodError|"code":|issues|\bat [\w.]+ \(/);
  }, 30_000);

  it('an unknown tool, through the SDK client, is a protocol error (-32602), not a result', async () => {
    const { client, transport, close } = await connectCli(['serve'], env());
    const err = await client.callTool({ name: 'loopiq_no_such_tool', arguments: {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(McpError);
    expect((err as McpError).code).toBe(-32602);
    expect((await client.callTool({ name: 'loopiq_whoami', arguments: {} })).isError).toBeFalsy();
    expect(transport.nonJsonRpcStdout()).toEqual([]);
    await close();
  }, 30_000);

  it('read-only mode: a write tool is unknown, so refused the same way', async () => {
    const { client, close } = await connectCli(['serve', '--read-only'], env());
    const err = await client.callTool({ name: 'loopiq_create_work_item', arguments: { type: 'task', title: 'x' } }).catch((e: unknown) => e);
    expect((err as McpError).code).toBe(-32602);
    await close();
  }, 30_000);
});

import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { createServer, request, type Server } from 'node:http';
import { createServer as createNetServer, type Socket } from 'node:net';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, connectCli, tempHome } from './support/cli.js';

/**
 * Upstream mode against an MCP server nobody here wrote: the reference "everything" server in
 * streamable HTTP mode, behind a recording reverse proxy (so the test sees every request it gets).
 * Its tools have mixed annotations: those without readOnlyHint: true must be gated.
 */
const EVERYTHING = createRequire(import.meta.url).resolve('@modelcontextprotocol/server-everything/dist/index.js');
const TOKEN = 'lqp_everything_test_token_7d1c0b';

interface Seen {
  method: string;
  authorization?: string | undefined;
  organization?: string | undefined;
  body: string;
}

let child: ChildProcess;
let proxy: Server;
const sockets = new Set<Socket>();
const seen: Seen[] = [];
let url: string;

beforeAll(async () => {
  const port = await freePort();
  child = spawn(process.execPath, [EVERYTHING, 'streamableHttp'], { env: { PATH: process.env.PATH, PORT: String(port) }, stdio: ['ignore', 'ignore', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    let err = '';
    child.stderr!.on('data', (c: Buffer) => {
      err += c.toString();
      if (err.includes('listening on port')) resolve();
    });
    child.once('exit', (code) => { reject(new Error(`server-everything exited (${code}): ${err}`)); });
  });
  proxy = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const h = (n: string) => req.headers[n] as string | undefined;
      seen.push({ method: req.method ?? '', authorization: h('authorization'), organization: h('loopiq-organization'), body: body.toString('utf8') });
      const up = request({ host: '127.0.0.1', port, method: req.method, path: req.url, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      up.on('error', () => res.destroy());
      up.end(body);
    });
  });
  proxy.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', () => { resolve(); }));
  url = `http://127.0.0.1:${(proxy.address() as { port: number }).port}/mcp`;
}, 30_000);

afterAll(async () => {
  child.kill();
  for (const s of sockets) s.destroy();
  await new Promise<void>((resolve) => {
    proxy.close(() => { resolve(); });
  });
});

const toolCalls = (name: string) => seen.filter((s) => s.method === 'POST' && s.body.includes('"tools/call"') && (JSON.parse(s.body) as { params?: { name?: string } }).params?.name === name);

async function connect(args: string[], answer?: 'approve' | 'decline') {
  const home = tempHome();
  const env = baseEnv({ ...home.env, LOOPIQ_TOKEN: TOKEN, LOOPIQ_ORG: 'org_everything', LOOPIQ_GATE_SECRETS: 'file', LOOPIQ_CONFIRM: 'elicitation' });
  const c = await connectCli(['serve', '--mcp-url', url, ...args], env, answer ? { elicitation: {} } : {});
  const shown: string[] = [];
  if (answer) {
    c.client.setRequestHandler(ElicitRequestSchema, (req) => {
      shown.push(String((req.params as { message?: string }).message));
      return Promise.resolve(answer === 'approve' ? { action: 'accept', content: { approve: true } } : { action: 'decline' });
    });
  }
  const call = async (name: string, a: Record<string, unknown> = {}) =>
    (await c.client.callTool({ name, arguments: a })) as { isError?: boolean; content: { text: string }[]; structuredContent?: Record<string, unknown> };
  return { ...c, call, shown };
}

describe('serve --mcp-url against @modelcontextprotocol/server-everything', () => {
  it('relays its tools with their annotations; reads pass through fenced; token and org header on every request; the token never on stdout/stderr', async () => {
    const from = seen.length;
    const c = await connect([]);
    const { tools } = await c.client.listTools();
    const echo = tools.find((t) => t.name === 'echo')!;
    expect(echo.annotations?.readOnlyHint).toBe(true);
    expect(Object.keys((echo.inputSchema as { properties: object }).properties)).toEqual(['message']);
    const toggle = tools.find((t) => t.name === 'toggle-simulated-logging')!;
    expect(toggle.annotations?.readOnlyHint).toBe(false);
    expect(toggle.description).toContain('runs only after a human approves');

    const r = await c.call('echo', { message: 'hello\u200B from the model' });
    expect(r.isError).toBeFalsy();
    expect(r.content[0]!.text).toMatch(/^Result of echo in org_everything\.\n<loopiq-data [^>]*>\n.*Echo: hello from the model.*\n<\/loopiq-data>$/s);
    await c.close();

    const mine = seen.slice(from);
    expect(mine.length).toBeGreaterThan(2);
    for (const s of mine) {
      expect(s.authorization).toBe(`Bearer ${TOKEN}`);
      expect(s.organization).toBe('org_everything');
    }
    expect(c.transport.stdoutLines.join('\n')).not.toContain(TOKEN);
    expect(c.transport.stderr).not.toContain(TOKEN);
  });

  it('a tool annotated readOnlyHint: false is gated: declined → never called; approved → called exactly once with the approved arguments', async () => {
    const d = await connect([], 'decline');
    const before = toolCalls('toggle-simulated-logging').length;
    const declined = await d.call('toggle-simulated-logging');
    expect(declined.structuredContent).toMatchObject({ outcome: 'declined' });
    expect(d.shown[0]).toContain('LoopIQ preview: none');
    expect(toolCalls('toggle-simulated-logging').length).toBe(before);
    await d.close();

    const a = await connect([], 'approve');
    const approved = await a.call('toggle-simulated-logging');
    expect(approved.structuredContent).toMatchObject({ outcome: 'executed' });
    const calls = toolCalls('toggle-simulated-logging');
    expect(calls.length).toBe(before + 1);
    expect((JSON.parse(calls.at(-1)!.body) as { params: { arguments: unknown } }).params.arguments).toEqual({});
    expect(JSON.stringify(approved)).toContain('Started simulated');
    await a.close();
  });

  it('--read-only serves only its read-only tools', async () => {
    const c = await connect(['--read-only']);
    const { tools } = await c.client.listTools();
    expect(tools.map((t) => t.name)).toContain('echo');
    for (const t of tools) expect(t.annotations?.readOnlyHint).toBe(true);
    expect(tools.map((t) => t.name)).not.toContain('toggle-simulated-logging');
    await c.close();
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => { resolve(port); });
    });
  });
}

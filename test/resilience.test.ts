import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type RunningSandbox } from '../src/sandbox/fake-loopiq.js';
import { SANDBOX_TOKENS } from '../src/sandbox/seed.js';
import { baseEnv, CLI, connectCli, tempHome } from './support/cli.js';

/** One line the server wrote to stdout, as these tests read it. */
interface JsonRpcReply {
  jsonrpc: string;
  id: string | number | null;
  error?: { code: number; message: string };
  result?: { structuredContent: { record: { id: string } } };
}

let sandbox: RunningSandbox;
beforeAll(async () => {
  sandbox = await startSandbox();
});
afterAll(() => sandbox.close());

const serveEnv = (extra: Record<string, string> = {}) => {
  const home = tempHome();
  return { home, env: baseEnv({ ...home.env, LOOPIQ_API_URL: sandbox.url, LOOPIQ_TOKEN: SANDBOX_TOKENS.alex, LOOPIQ_ORG: 'acme', ...extra }) };
};

function alive(pid: number) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('stdin abuse', () => {
  it('garbage, a 10 MB line, invalid UTF-8, unknown methods and early requests: no crash, only JSON-RPC on stdout', async () => {
    const { env } = serveEnv();
    const child = spawn(process.execPath, [CLI, 'serve'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const send = (s: string | Buffer) => child.stdin.write(s);
    send('this is not json\n');
    send('{"jsonrpc":"2.0","id":1,"method":"tools/list"}\n'); // before initialize
    send(Buffer.concat([Buffer.from('{"jsonrpc":"2.0","id":2,"method":"x","params":{"s":"'), Buffer.alloc(10 * 1024 * 1024, 0x61), Buffer.from('"}}\n')]));
    send(Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0x0a]));
    send('{"jsonrpc":"2.0","id":3,"method":"no/such/method"}\n');
    send('{"jsonrpc":"2.0","id":4,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"abuse","version":"1"}}}\n');
    send('{"jsonrpc":"2.0","method":"notifications/initialized"}\n');
    send('{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"loopiq_get_release","arguments":{"id":"rel_acme_1"}}}\n');
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => { reject(new Error(`no answer to id 5; stdout so far: ${out.slice(0, 500)}`)); }, 15_000);
      child.stdout.on('data', () => {
        if (out.includes('"id":5')) {
          clearTimeout(t);
          resolve();
        }
      });
    });
    child.stdin.end();
    await new Promise((r) => child.on('exit', r));
    const lines = out.trim().split('\n');
    const messages = lines.map((l) => JSON.parse(l) as JsonRpcReply);
    for (const m of messages) expect(m.jsonrpc).toBe('2.0');
    const byId = new Map(messages.map((m) => [m.id, m]));
    const unidentified = messages.filter((m) => m.id === null);
    expect(unidentified.map((m) => m.error!.code).sort()).toEqual([-32700, -32700, -32600].sort()); // garbage, invalid UTF-8, 10 MB
    expect(unidentified.some((m) => /too large/.test(m.error!.message))).toBe(true);
    expect(byId.get(3)?.error!.code).toBe(-32601);
    expect(byId.get(5)?.result!.structuredContent.record.id).toBe('rel_acme_1');
  });
});

describe('lifecycle', () => {
  it.each([
    ['stdin EOF', (c: ReturnType<typeof spawn>) => c.stdin!.end()],
    ['SIGTERM', (c: ReturnType<typeof spawn>) => c.kill('SIGTERM')],
    ['SIGINT', (c: ReturnType<typeof spawn>) => c.kill('SIGINT')],
  ])('%s ends the server within 1 s, and an open approval dialog with it', async (_name, stop) => {
    const fakeDir = fileURLToPath(new URL('./fixtures/fake-dialog', import.meta.url));
    const { home, env } = serveEnv({ DISPLAY: ':99', FAKE_ZENITY_MODE: 'hang', PATH: `${fakeDir}:${process.env.PATH}` });
    const pidFile = join(home.dir, 'zenity.pid');
    const { client, transport } = await connectCli(['serve', '--confirm', 'dialog'], { ...env, FAKE_ZENITY_LOG: join(home.dir, 'argv'), FAKE_ZENITY_PID: pidFile });
    void client.callTool({ name: 'loopiq_create_work_item', arguments: { type: 'task', title: 'x' } }).catch(() => {});
    for (let i = 0; i < 100 && !existsSync(pidFile); i++) await new Promise((r) => setTimeout(r, 50));
    const dialogPid = Number(readFileSync(pidFile, 'utf8'));
    expect(alive(dialogPid)).toBe(true);
    const started = Date.now();
    const exited = new Promise((r) => transport.child.once('exit', r));
    stop(transport.child);
    await exited;
    expect(Date.now() - started).toBeLessThan(1_000);
    await new Promise((r) => setTimeout(r, 100));
    expect(alive(dialogPid)).toBe(false);
  });
});

describe('cancellation', () => {
  it('a cancelled tool call aborts its HTTP request at the sandbox', async () => {
    const { env } = serveEnv();
    const { client, close } = await connectCli(['serve'], env);
    sandbox.fake.faults.push({ method: 'GET', path: '/api/v1/incidents', kind: 'delay', ms: 3_000 });
    const before = sandbox.fake.requests.length;
    const ac = new AbortController();
    const call = client.callTool({ name: 'loopiq_list_incidents', arguments: {} }, undefined, { signal: ac.signal });
    // Abort once the request is at the sandbox (however long a loaded machine takes to get there).
    for (let i = 0; i < 200 && !sandbox.fake.requests.slice(before).some((r) => r.path === '/api/v1/incidents'); i++) await new Promise((r) => setTimeout(r, 50));
    ac.abort();
    await expect(call).rejects.toThrow();
    const req = sandbox.fake.requests.slice(before).find((r) => r.path === '/api/v1/incidents')!;
    for (let i = 0; i < 100 && !req.aborted; i++) await new Promise((r) => setTimeout(r, 50));
    expect(req.aborted).toBe(true);
    // Still serving.
    expect((await client.callTool({ name: 'loopiq_whoami', arguments: {} })).isError).toBeFalsy();
    await close();
  });

  it('reports progress while it retries, when the client asked for progress', async () => {
    const { env } = serveEnv();
    const { client, close } = await connectCli(['serve'], env);
    sandbox.fake.faults.push({ method: 'GET', path: '/api/v1/releases', kind: 'status', status: 503, code: 'unavailable', retryAfter: 0 });
    const progress: string[] = [];
    const r = await client.callTool({ name: 'loopiq_list_releases', arguments: {} }, undefined, { onprogress: (p) => progress.push(p.message ?? '') });
    expect(r.isError).toBeFalsy();
    expect(progress).toEqual(['LoopIQ: HTTP 503; retrying (attempt 2)']);
    await close();
  });
});

describe('soak: 1,000 calls through the built server with ~20% faults', () => {
  it('0 crashes, 0 duplicate writes, every failure explained, no foreign record', async () => {
    const soak = await startSandbox({ faultRate: 0.2, leakForeignRecords: true });
    const home = tempHome();
    const env = baseEnv({ ...home.env, LOOPIQ_API_URL: soak.url, LOOPIQ_TOKEN: SANDBOX_TOKENS.alex, LOOPIQ_ORG: 'acme' });
    const { client, transport, close } = await connectCli(['serve', '--confirm', 'elicitation'], env, { elicitation: { form: {} } });
    client.setRequestHandler(ElicitRequestSchema, () => ({ action: 'accept', content: { approve: true } }));
    const reads: [string, Record<string, unknown>][] = [
      ['loopiq_list_work_items', { limit: 10 }],
      ['loopiq_get_release', { id: 'rel_acme_2' }],
      ['loopiq_search', { query: 'access' }],
      ['loopiq_list_incidents', {}],
      ['loopiq_get_release_certification_evidence_graph', { id: 'cert_acme_2' }],
    ];
    const stats = { calls: 0, ok: 0, clearErrors: 0, unclear: [] as string[], writesExecuted: 0, retriedApprovals: 0, foreign: 0 };
    const seedCount = soak.fake.records.workItems.length;
    for (let i = 0; i < 1000; i++) {
      const isWrite = i % 10 === 0;
      const [name, args] = isWrite ? ['loopiq_create_work_item', { type: 'task', title: `soak ${i}` }] : reads[i % reads.length]!;
      const r = await client.callTool({ name, arguments: args });
      stats.calls++;
      const text = (r.content as { text: string }[])[0]!.text;
      if (text.includes('FOREIGN RECORD')) stats.foreign++;
      type Gated = { outcome?: string; approvalId?: string } | undefined;
      let sc = r.structuredContent as Gated;
      // A lost answer to an approved write: retrying the same approval is safe (same key).
      for (let retry = 0; isWrite && sc?.outcome === 'api_error' && sc.approvalId && retry < 3; retry++) {
        stats.retriedApprovals++;
        const again = await client.callTool({ name: 'loopiq_execute_approved_action', arguments: { approvalId: sc.approvalId } });
        sc = again.structuredContent as Gated; // an error result has none
        if (sc?.outcome === 'executed') r.isError = false;
      }
      if (!r.isError) {
        stats.ok++;
        if (isWrite && sc?.outcome === 'executed') stats.writesExecuted++;
      } else if (/LoopIQ|Nothing was written|Could not reach|did not answer/.test(text)) stats.clearErrors++;
      else stats.unclear.push(text);
    }
    expect(transport.child.exitCode).toBeNull();
    await close();
    await soak.close();
    const created = soak.fake.records.workItems.length - seedCount;
    const titles = soak.fake.records.workItems.slice(seedCount).map((w) => w.title);
    const faults = soak.fake.requests.filter((q) => q.status !== 200 && q.status !== 201).length;
    console.log(`soak: ${JSON.stringify({ ...stats, unclear: stats.unclear.length, created, requests: soak.fake.requests.length, faultyResponses: faults })}`);
    expect(stats.calls).toBe(1000);
    expect(stats.unclear).toEqual([]);
    expect(stats.foreign).toBe(0);
    expect(new Set(titles).size).toBe(titles.length); // no duplicate writes
    expect(created).toBe(stats.writesExecuted);
    expect(stats.ok).toBeGreaterThan(800);
    expect(transport.nonJsonRpcStdout()).toEqual([]);
  }, 90_000);
});

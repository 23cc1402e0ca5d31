import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type RunningSandbox } from '../src/sandbox/fake-loopiq.js';
import { SANDBOX_TOKENS } from '../src/sandbox/seed.js';
import { RecordingStdioTransport } from '../src/util/stdio-probe.js';
import { baseEnv, tempHome, until } from './support/cli.js';

/** What desktop clients launch: the bin (V8 flags and compile cache), not dist/cli.js. */
const BIN = fileURLToPath(new URL('../bin/loopiq-mcp.js', import.meta.url));

async function connectBin(env: Record<string, string>) {
  const transport = new RecordingStdioTransport(process.execPath, [BIN, 'serve'], env);
  const client = new Client({ name: 'loopiq-test', version: '1.2.3' }, { capabilities: {} });
  await client.connect(transport);
  return { client, transport };
}

describe('warm-up after initialize (bin, real MCP client, sandbox on a real port)', () => {
  let sandbox: RunningSandbox;
  beforeAll(async () => {
    sandbox = await startSandbox();
  });
  afterAll(() => sandbox.close());
  const meRequests = (from: number) => sandbox.fake.requests.slice(from).filter((r) => r.path === '/api/v1/me');

  it('fetches what the first call needs while idle, and the first call reuses it', async () => {
    const home = tempHome();
    const from = sandbox.fake.requests.length;
    const { client, transport } = await connectBin(baseEnv({ ...home.env, LOOPIQ_API_URL: sandbox.url, LOOPIQ_TOKEN: SANDBOX_TOKENS.alex, LOOPIQ_ORG: 'acme' }));
    const listed = await client.listTools();
    expect(listed.tools.length).toBeGreaterThan(10);
    // No tool has been called, yet the identity that pins the organization is fetched...
    await until('the warm-up /me request', () => meRequests(from).length > 0);
    const me = meRequests(from)[0]!;
    expect(me.status).toBe(200);
    // ...after `initialize`: it already names the MCP client.
    expect(me.headers['user-agent']).toMatch(/^loopiq-mcp\/\S+ \(loopiq-test\/1\.2\.3; node\//);
    const r = await client.callTool({ name: 'loopiq_get_release', arguments: { id: 'rel_acme_2' } });
    expect(r.isError, JSON.stringify(r.content)).toBeFalsy();
    expect(JSON.stringify(r.structuredContent)).toContain('rel_acme_2');
    expect(meRequests(from)).toHaveLength(1);
    await client.close();
    expect(transport.nonJsonRpcStdout()).toEqual([]);
  });

  it('a warm-up that fails changes nothing: the first call still reports the real problem', async () => {
    const home = tempHome();
    const from = sandbox.fake.requests.length;
    const { client, transport } = await connectBin(baseEnv({ ...home.env, LOOPIQ_API_URL: sandbox.url, LOOPIQ_TOKEN: 'lqp_not_a_real_token', LOOPIQ_ORG: 'acme' }));
    await client.listTools();
    await until('the warm-up /me request', () => meRequests(from).length > 0);
    expect(meRequests(from)[0]!.status).toBe(401);
    // The first call may still share the warm-up's request if it was in flight; either way it
    // reports the rejection, and the failure is not cached: the next call asks again.
    for (let i = 0; i < 2; i++) {
      const before = meRequests(from).length;
      const r = await client.callTool({ name: 'loopiq_get_release', arguments: { id: 'rel_acme_2' } });
      expect(r.isError).toBe(true);
      const text = JSON.stringify(r.content);
      expect(text).toContain('LOOPIQ_TOKEN was rejected');
      expect(text).not.toMatch(/\n\s+at /);
      if (i === 1) expect(meRequests(from).length).toBeGreaterThan(before);
    }
    await client.close();
    expect(transport.stderr).not.toMatch(/unhandled rejection|\n\s+at /);
    expect(transport.nonJsonRpcStdout()).toEqual([]);
  });

  it('starts and serves when the state dir cannot be written (the compile cache is optional)', async () => {
    const home = tempHome();
    writeFileSync(join(home.dir, 'not-a-dir'), '');
    const env = baseEnv({ ...home.env, LOOPIQ_STATE_DIR: join(home.dir, 'not-a-dir', 'state'), LOOPIQ_API_URL: sandbox.url, LOOPIQ_TOKEN: SANDBOX_TOKENS.alex, LOOPIQ_ORG: 'acme' });
    const { client, transport } = await connectBin(env);
    const r = await client.callTool({ name: 'loopiq_get_release', arguments: { id: 'rel_acme_2' } });
    expect(r.isError, JSON.stringify(r.content)).toBeFalsy();
    await client.close();
    expect(transport.stderr).not.toMatch(/compile|cache|EEXIST|ENOTDIR/i);
    expect(transport.nonJsonRpcStdout()).toEqual([]);
  });
});

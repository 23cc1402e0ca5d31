import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type RunningSandbox } from '../src/sandbox/fake-loopiq.js';
import { SANDBOX_TOKENS } from '../src/sandbox/seed.js';
import { listTools } from '../src/server/server.js';
import { selectTools } from '../src/tools/index.js';
import { baseEnv, connectCli, runCli, tempHome } from './support/cli.js';

const READ_CALLS: [string, Record<string, unknown>][] = [
  ['loopiq_whoami', {}],
  ['loopiq_list_organizations', {}],
  ['loopiq_search', { query: 'access' }],
  ['loopiq_list_work_items', {}],
  ['loopiq_get_work_item', { id: 'wi_acme_1' }],
  ['loopiq_list_releases', {}],
  ['loopiq_get_release', { id: 'rel_acme_2' }],
  ['loopiq_get_release_certification', { id: 'cert_acme_2' }],
  ['loopiq_get_release_certification_evidence_graph', { id: 'cert_acme_2' }],
  ['loopiq_list_evidence', {}],
  ['loopiq_list_incidents', {}],
  ['loopiq_get_incident', { id: 'inc_acme_2' }],
  ['loopiq_list_service_requests', {}],
  ['loopiq_get_service_request', { id: 'sr_acme_1' }],
];

describe('built CLI as a stdio server, real MCP client, sandbox on a real port', () => {
  let sandbox: RunningSandbox;
  beforeAll(async () => {
    sandbox = await startSandbox({ leakForeignRecords: true });
  });
  afterAll(() => sandbox.close());

  it('serves every read tool for the pinned org, and nothing leaks', async () => {
    const home = tempHome();
    const env = baseEnv({ ...home.env, LOOPIQ_API_URL: sandbox.url, LOOPIQ_TOKEN: SANDBOX_TOKENS.alex, LOOPIQ_ORG: 'acme' });
    const { client, transport, close } = await connectCli(['serve', '--read-only'], env);
    const listed = await client.listTools();
    expect(listed.tools.map((t) => t.name).sort()).toEqual(READ_CALLS.map(([n]) => n).sort());
    // The build precomputes tools/list; it must be exactly what the source computes.
    expect(listed.tools).toEqual(listTools(selectTools({ readOnly: true })).tools);

    const before = sandbox.fake.requests.length;
    const results = [];
    for (const [name, args] of READ_CALLS) {
      const r = await client.callTool({ name, arguments: args });
      expect(r.isError, `${name}: ${JSON.stringify(r.content)}`).toBeFalsy();
      results.push(JSON.stringify(r));
    }
    await close();

    const requests = sandbox.fake.requests.slice(before);
    const orgScoped = requests.filter((r) => r.path !== '/api/v1/me');
    expect(orgScoped.length).toBe(READ_CALLS.length - 2);
    for (const r of orgScoped) expect(r.headers['loopiq-organization'], r.path).toBe('org_acme');
    for (const r of requests) {
      expect(r.headers['user-agent']).toMatch(/^loopiq-mcp\/\d+\.\d+\.\d+ \(loopiq-test\/1\.2\.3; node\/v\d+/);
      expect(r.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    }
    // The sandbox leaked one foreign record into every page: none reached the model.
    for (const text of results) expect(text).not.toContain('FOREIGN RECORD');
    expect(transport.nonJsonRpcStdout()).toEqual([]);
    const everything = transport.stdoutLines.join('\n') + transport.stderr;
    expect(everything).not.toContain(SANDBOX_TOKENS.alex);
  });

  it('serve --sandbox works with no account and labels its results', async () => {
    const home = tempHome();
    const { client, transport, close } = await connectCli(['serve', '--sandbox'], baseEnv(home.env));
    const r = await client.callTool({ name: 'loopiq_get_release', arguments: { id: 'rel_acme_2' } });
    await close();
    expect((r.content as { text: string }[])[0]!.text).toMatch(/^\[SANDBOX\] Release/);
    expect(transport.stderr).toContain('SANDBOX');
    expect(transport.nonJsonRpcStdout()).toEqual([]);
  });

  it('without a token, tools say how to log in and the server keeps serving', async () => {
    const home = tempHome();
    const env = baseEnv({ ...home.env, LOOPIQ_API_URL: sandbox.url, LOOPIQ_ORG: 'acme' });
    const { client, close } = await connectCli(['serve'], env);
    const r = await client.callTool({ name: 'loopiq_list_releases', arguments: {} });
    expect(r.isError).toBe(true);
    expect((r.content as { text: string }[])[0]!.text).toMatch(/loopiq-mcp login/);
    expect((await client.listTools()).tools.length).toBe(20);
    await close();
  });

  it('a broken Secret Service gives the actionable keychain message quickly, and no hang', async () => {
    const home = tempHome();
    const env = baseEnv({ ...home.env, LOOPIQ_API_URL: sandbox.url, LOOPIQ_ORG: 'acme', DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/bus' });
    const { client, close } = await connectCli(['serve'], env);
    const started = Date.now();
    const r = await client.callTool({ name: 'loopiq_whoami', arguments: {} });
    expect(Date.now() - started).toBeLessThan(3_500);
    const text = (r.content as { text: string }[])[0]!.text;
    expect(r.isError).toBe(true);
    expect(text).toMatch(/OS keychain/);
    expect(text).toMatch(/Secret Service/);
    expect(text).toMatch(/LOOPIQ_TOKEN/);
    await close();
  });

  it('refuses unknown flags and settings with exit 2 / 1 and a message naming them', async () => {
    const home = tempHome();
    const bad = await runCli(['serve', '--no-such-flag'], baseEnv(home.env));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown option '--no-such-flag'/);
    const badTool = await runCli(['serve', '--tools', 'loopiq_nope'], baseEnv(home.env));
    expect(badTool.code).toBe(1);
    expect(badTool.stderr).toMatch(/unknown tool name\(s\): loopiq_nope/);
    const badUrl = await runCli(['serve'], baseEnv({ ...home.env, LOOPIQ_API_URL: 'http://example.com' }));
    expect(badUrl.code).toBe(1);
    expect(badUrl.stderr).toMatch(/not https/);
    const badChannel = await runCli(['serve', '--confirm', 'email'], baseEnv(home.env));
    expect(badChannel.code).toBe(1);
    expect(badChannel.stderr).toMatch(/--confirm email: unknown channel email/);
    const badBool = await runCli(['serve'], baseEnv({ ...home.env, LOOPIQ_READ_ONLY: 'maybe' }));
    expect(badBool.code).toBe(1);
    expect(badBool.stderr).toMatch(/LOOPIQ_READ_ONLY=maybe: not a boolean/);
    const badTimeout = await runCli(['serve'], baseEnv({ ...home.env, LOOPIQ_CONFIRM_TIMEOUT: '-5' }));
    expect(badTimeout.code).toBe(1);
    expect(badTimeout.stderr).toMatch(/LOOPIQ_CONFIRM_TIMEOUT=-5/);
    expect(bad.stdout + badTool.stdout + badUrl.stdout + badChannel.stdout + badBool.stdout + badTimeout.stdout).toBe('');
  });

  it('--help explains every flag', async () => {
    const r = await runCli(['serve', '--help'], baseEnv());
    expect(r.code).toBe(0);
    for (const flag of ['--api-url', '--org', '--read-only', '--sandbox', '--tools', '--exclude-tools', '--confirm']) expect(r.stdout).toContain(flag);
  });

  it('every command has --help with examples', async () => {
    const verbs = ['serve', 'login', 'logout', 'status', 'orgs', 'use-org', 'rotate', 'install', 'uninstall', 'doctor', 'approve', 'reject', 'audit', 'sandbox'];
    const results = await Promise.all(verbs.map((v) => runCli([v, '--help'], baseEnv())));
    results.forEach((r, i) => {
      expect(r.code, verbs[i]).toBe(0);
      expect(r.stdout, verbs[i]).toMatch(/Examples:\n {2}\$ loopiq-mcp /);
    });
  });
});

import { createServer, request as httpRequest, type Server } from 'node:http';
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type RunningSandbox } from '../src/sandbox/fake-loopiq.js';
import { cliUser } from './support/cli.js';

let sandbox: RunningSandbox;
beforeAll(async () => {
  sandbox = await startSandbox();
});
afterAll(() => sandbox.close());

const user = () => cliUser(sandbox.url);

async function doctor(u: ReturnType<typeof user>, extra: Record<string, string> = {}, selfTest = false) {
  const r = await u.cli(['doctor', '--json', ...(selfTest ? [] : ['--no-self-test'])], undefined, extra);
  const report = JSON.parse(r.stdout) as { ok: boolean; checks: { name: string; status: string; detail: string; fix?: string }[] };
  const check = (name: string) => report.checks.find((c) => c.name === name);
  return { code: r.code, report, check };
}

describe('doctor against the sandbox', () => {
  it('is all green when set up (logged in, org selected, client registered) and self-tests serve', async () => {
    const u = user();
    expect((await u.cli(['login', '--with-token'], sandbox.fake.issueToken('usr_alex'))).code).toBe(0);
    expect((await u.cli(['use-org', 'acme'])).code).toBe(0);
    expect((await u.cli(['install', '--client', 'claude-code'])).code).toBe(0);
    const d = await doctor(u, {}, true);
    expect(d.code, JSON.stringify(d.report, null, 2)).toBe(0);
    expect(d.report.checks.filter((c) => c.status === 'fail')).toEqual([]);
    expect(d.check('token')?.detail).toMatch(/alex@example.com; .* expires .*scopes: read, write/);
    expect(d.check('organization')?.detail).toMatch(/Acme Corp/);
    expect(d.check('client:claude-code')?.status).toBe('ok');
    expect(d.check('api')?.detail).toMatch(/answered in \d+ ms/);
    expect(d.check('self-test')?.detail).toMatch(/listed 20 tools .* stdout was JSON-RPC only/);
    expect(d.check('confirmation')?.detail).toMatch(/terminal: always/);
  });

  it('no token → keychain fails with the fix', async () => {
    const d = await doctor(user());
    expect(d.code).toBe(1);
    expect(d.check('keychain')).toMatchObject({ status: 'fail', fix: 'Run `loopiq-mcp login`.' });
  });

  it('expired token → token fails', async () => {
    const d = await doctor(user(), { LOOPIQ_TOKEN: sandbox.fake.issueToken('usr_sam', { expiresInMs: -1 }) });
    expect(d.code).toBe(1);
    expect(d.check('token')).toMatchObject({ status: 'fail' });
    expect(d.check('token')!.detail).toMatch(/token_expired/);
  });

  it('no org selected → organization fails', async () => {
    const d = await doctor(user(), { LOOPIQ_TOKEN: sandbox.fake.issueToken('usr_alex') });
    expect(d.code).toBe(1);
    expect(d.check('organization')).toMatchObject({ status: 'fail', detail: 'No organization selected and you belong to 3.' });
    expect(d.check('organization')!.fix).toMatch(/use-org <id\|slug>.*acme, globex, umbrella/);
  });

  it('unreachable API → api fails: connection refused', async () => {
    const d = await doctor(user(), { LOOPIQ_API_URL: 'http://127.0.0.1:9', LOOPIQ_TOKEN: 'x' });
    expect(d.code).toBe(1);
    expect(d.check('api')!.detail).toMatch(/connection refused/);
  });

  it('a broken client config and a missing node path are reported per client', async () => {
    const u = user();
    mkdirSync(join(u.home.dir, '.cursor'));
    writeFileSync(join(u.home.dir, '.cursor', 'mcp.json'), '{ "mcpServers": { ');
    mkdirSync(join(u.home.dir, '.codeium', 'windsurf'), { recursive: true });
    writeFileSync(
      join(u.home.dir, '.codeium', 'windsurf', 'mcp_config.json'),
      JSON.stringify({ mcpServers: { loopiq: { command: '/nonexistent/node', args: ['/nonexistent/cli.js', 'serve'], env: { LOOPIQ_TOKEN: 'lqp_pasted_secret_value' } } } }),
    );
    const d = await doctor(u, { LOOPIQ_TOKEN: sandbox.fake.issueToken('usr_sam') });
    expect(d.code).toBe(1);
    expect(d.check('client:cursor')).toMatchObject({ status: 'fail' });
    expect(d.check('client:cursor')!.detail).toMatch(/syntax error at line 1/);
    expect(d.check('client:windsurf')!.detail).toMatch(/command \/nonexistent\/node does not exist/);
    expect(d.check('client:windsurf')!.fix).toMatch(/install --client windsurf/);
    expect(d.check('client:windsurf:secrets')).toMatchObject({ status: 'warn' });
    expect(JSON.stringify(d.report)).not.toContain('lqp_pasted_secret_value');
  });
});

/** A tiny HTTP proxy: CONNECT tunnels and absolute-URI forwarding, recording every target. */
async function startProxy() {
  const seen: string[] = [];
  const server: Server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    const url = new URL(req.url!);
    const up = httpRequest({ host: url.hostname, port: url.port, path: url.pathname + url.search, method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode!, r.headers);
      r.pipe(res);
    });
    req.pipe(up);
  });
  server.on('connect', (req, socket, head) => {
    seen.push(`CONNECT ${req.url}`);
    const [host, port] = req.url!.split(':');
    const upstream = connect(Number(port), host, () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, close: () => new Promise<void>((r) => server.close(() => { r(); })) };
}

describe('corporate proxy', () => {
  it('API traffic goes through HTTPS_PROXY/HTTP_PROXY, and NO_PROXY is honoured', async () => {
    const proxy = await startProxy();
    const u = user();
    const token = sandbox.fake.issueToken('usr_sam');
    const host = new URL(sandbox.url).host;
    const via = await u.cli(['status', '--json'], undefined, { LOOPIQ_TOKEN: token, HTTPS_PROXY: proxy.url, HTTP_PROXY: proxy.url });
    expect((JSON.parse(via.stdout) as { ok: boolean }).ok).toBe(true);
    expect(proxy.seen.some((s) => s.includes(host))).toBe(true);

    proxy.seen.length = 0;
    const direct = await u.cli(['status', '--json'], undefined, { LOOPIQ_TOKEN: token, HTTPS_PROXY: proxy.url, HTTP_PROXY: proxy.url, NO_PROXY: '127.0.0.1' });
    expect((JSON.parse(direct.stdout) as { ok: boolean }).ok).toBe(true);
    expect(proxy.seen).toEqual([]);
    await proxy.close();
  });
});

/**
 * OAuth for the hosted MCP endpoint (upstream mode), against the real authorization server
 * (oidc-provider on 127.0.0.1) and the sandbox's /mcp as a second protected resource: discovery
 * starts at the endpoint, the login is stored for its origin with the URL, and the built CLI's
 * `serve` relays the endpoint with the OAuth token, refreshing it once per expiry across servers.
 */
import { AsyncEntry } from '@napi-rs/keyring';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox } from '../src/sandbox/fake-loopiq.js';
import { startOAuthSandbox, type RunningOAuthSandbox } from '../src/sandbox/oauth-server.js';
import { approveDevice, AUTH_URL, authorizeInBrowser, CliProcess, readAllFiles, TestBrowser, webLogin } from './oauth-support.js';
import { cliUser, connectCli } from './support/cli.js';

const TTL_S = 6;
let sb: RunningOAuthSandbox;
let mcpUrl: string;
beforeAll(async () => {
  sb = await startOAuthSandbox({ accessTokenTtl: TTL_S, deviceInterval: 1 });
  mcpUrl = `${sb.api.url}/mcp`;
});
afterAll(async () => {
  await sb.close();
});

interface Stored {
  kind: string;
  accessToken: string;
  refreshToken: string;
  expiresAt: number;
  clientId: string;
  resource: string;
}

type User = ReturnType<typeof cliUser>;
const entry = (u: User) => new AsyncEntry(u.env.LOOPIQ_KEYCHAIN_SERVICE!, sb.api.url, { linux: { store: 'secret-service' } });
const refreshes = () => sb.events.filter((e) => e.endpoint === 'token' && e.grantType === 'refresh_token');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const initialize = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } });
const postMcp = (token?: string) =>
  fetch(mcpUrl, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: initialize });

/** A user without LOOPIQ_API_URL (upstream mode is chosen by the stored --mcp-url). */
function mcpUser() {
  const u = cliUser(sb.api.url);
  delete u.env.LOOPIQ_API_URL;
  return u;
}

function webLoginMcp(u: User, args: string[] = []) {
  return webLogin(u, ['--mcp-url', mcpUrl, ...args]);
}

describe('the sandbox /mcp as an OAuth protected resource', () => {
  it('answers 401 with WWW-Authenticate pointing at its own RFC 9728 metadata, naming the endpoint as the resource', async () => {
    const res = await postMcp();
    expect(res.status).toBe(401);
    const challenge = res.headers.get('www-authenticate');
    expect(challenge).toBe(`Bearer resource_metadata="${sb.api.url}/.well-known/oauth-protected-resource/mcp"`);
    const meta = (await (await fetch(`${sb.api.url}/.well-known/oauth-protected-resource/mcp`)).json()) as Record<string, unknown>;
    expect(meta).toMatchObject({ resource: mcpUrl, authorization_servers: [sb.issuer] });
    // A token the provider never issued is refused too.
    expect((await postMcp('forged-token')).status).toBe(401);
  });
});

describe('login --mcp-url … --web / --device', () => {
  it('--web --no-browser: discovery at the endpoint, the token for the endpoint resource, stored for its origin with the URL; REST refuses it', async () => {
    const u = mcpUser();
    const { cli, code, landing, authUrl } = await webLoginMcp(u);
    expect(code, cli.stderr).toBe(0);
    expect(landing.html).toMatch(/You can close this tab/);
    expect(new URL(authUrl).searchParams.get('resource')).toBe(mcpUrl);
    expect(cli.stdout).toContain(`Logged in to the hosted MCP endpoint ${mcpUrl} (loopiq-sandbox-hosted 1.0.0) as Alex Rivera <alex@example.com>.`);
    expect(cli.stdout).toMatch(/OAuth login \(http:\/\/127\.0\.0\.1:\d+\) stored in the OS keychain; the access token expires .* and is refreshed automatically/);

    const stored = JSON.parse((await entry(u).getPassword())!) as Stored;
    expect(stored).toMatchObject({ kind: 'oauth', resource: mcpUrl, flow: 'web', issuer: sb.issuer });
    const status = await u.cli(['status', '--json']);
    expect(JSON.parse(status.stdout)).toMatchObject({ mode: 'hosted-mcp', mcpUrl, token: { source: 'keychain', valid: true, kind: 'oauth', oauth: { flow: 'web', refreshable: true } } });
    expect((await u.cli(['status'])).stdout).toMatch(/Token: +OAuth \(browser login at http:\/\/127\.0\.0\.1:\d+\), from keychain; access token expires \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC, refreshed automatically/);

    // Issued for the endpoint: the REST API (another resource) refuses it, the endpoint accepts it.
    const rest = await fetch(`${sb.api.url}/api/v1/me`, { headers: { authorization: `Bearer ${stored.accessToken}` } });
    expect(rest.status).toBe(401);
    expect((await postMcp(stored.accessToken)).status).toBe(200);
    // Revoked at the provider: refused at once.
    await (await sb.provider.AccessToken.find(stored.accessToken))!.destroy();
    expect((await postMcp(stored.accessToken)).status).toBe(401);

    for (const o of u.outputs) {
      expect(o).not.toContain(stored.accessToken);
      expect(o).not.toContain(stored.refreshToken);
    }
  });

  it('a REST-API token is refused by the endpoint (issued for another resource)', async () => {
    const u = cliUser(sb.api.url);
    const cli = new CliProcess(['login', '--web', '--no-browser'], u.env);
    const [, authUrl] = await cli.waitFor(AUTH_URL);
    const browser = new TestBrowser();
    await browser.go((await authorizeInBrowser(browser, authUrl!)).href);
    expect(await cli.exited, cli.stderr).toBe(0);
    const stored = JSON.parse((await entry(u).getPassword())!) as Stored;
    expect(stored.resource).toBe(sb.api.url);
    expect((await postMcp(stored.accessToken)).status).toBe(401);
  });

  it('--device: the user code entered at the provider completes the endpoint login', async () => {
    const u = mcpUser();
    const cli = new CliProcess(['login', '--mcp-url', mcpUrl, '--device'], u.env);
    const [, uri, userCode] = await cli.waitFor(/open this URL on any device:\n(\S+)\nand enter the code: (\S+)\n/);
    const page = await approveDevice(uri!, userCode!);
    expect(page.html).toMatch(/Sign-in Success|success/i);
    expect(await cli.exited, cli.stderr).toBe(0);
    u.outputs.push(cli.stdout, cli.stderr);
    expect(cli.stdout).toContain(`Logged in to the hosted MCP endpoint ${mcpUrl}`);
    expect(JSON.parse((await entry(u).getPassword())!)).toMatchObject({ kind: 'oauth', flow: 'device', resource: mcpUrl });
  });

  it('an endpoint without OAuth (the plain sandbox: no metadata, a 401 without a challenge): a clear error, nothing stored', async () => {
    const plain = await startSandbox();
    try {
      const u = mcpUser();
      const r = await u.cli(['login', '--mcp-url', `${plain.url}/mcp`, '--web', '--no-browser']);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/hosted MCP endpoint at .* does not offer OAuth login: no protected resource metadata/);
      expect(r.stderr).toMatch(/--with-token/);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(await entry(u).getPassword()).toBeNull();
    } finally {
      await plain.close();
    }
  });
});

describe('serve relays the endpoint with the OAuth token', () => {
  it('two servers keep answering across expiries with exactly one refresh each time; requests carry the fresh token; a 401 refreshes once; nothing leaks', async () => {
    const u = mcpUser();
    const seen = new Set<string>();
    const stored = async (): Promise<Stored> => {
      const s = JSON.parse((await entry(u).getPassword())!) as Stored;
      seen.add(s.accessToken);
      seen.add(s.refreshToken);
      return s;
    };
    const login = await webLoginMcp(u, ['--org', 'acme']);
    expect(login.code, login.cli.stderr).toBe(0);
    let current = await stored();

    const servers = await Promise.all([1, 2].map(() => connectCli(['serve'], u.env)));
    try {
      const callAll = () =>
        Promise.all(servers.map((s) => s.client.callTool({ name: 'loopiq_get_release_certification', arguments: { certificationId: 'cert_acme_2' } })));
      for (const r of await callAll()) expect(r.isError, JSON.stringify(r.content)).toBeFalsy();
      expect(refreshes()).toHaveLength(0);

      for (let expiry = 1; expiry <= 2; expiry++) {
        while (Date.now() <= current.expiresAt + 100) await sleep(100);
        const before = refreshes().length;
        const mark = sb.api.mcp.http.length;
        for (const r of await callAll()) expect(r.isError, JSON.stringify(r.content)).toBeFalsy();
        expect(refreshes().length - before).toBe(1);
        const next = await stored();
        expect(next.accessToken).not.toBe(current.accessToken);
        expect(next.refreshToken).not.toBe(current.refreshToken);
        // Every request to the endpoint after the expiry carried the fresh token, none the expired one.
        const sent = sb.api.mcp.http.slice(mark).map((h) => h.authorization);
        expect(sent.length).toBeGreaterThan(0);
        expect(sent.filter((a) => a === `Bearer ${current.accessToken}`)).toEqual([]);
        expect(sent.filter((a) => a === `Bearer ${next.accessToken}`).length).toBeGreaterThanOrEqual(2);
        current = next;
      }
      expect(sb.events.filter((e) => e.error === 'invalid_grant')).toEqual([]);

      // Revoked before expiry: the endpoint answers 401, the server refreshes once and retries.
      await (await sb.provider.AccessToken.find(current.accessToken))!.destroy();
      const before = refreshes().length;
      const r0 = await servers[0]!.client.callTool({ name: 'loopiq_get_release_certification', arguments: { certificationId: 'cert_acme_2' } });
      expect(r0.isError, JSON.stringify(r0.content)).toBeFalsy();
      expect(refreshes().length - before).toBe(1);
      const r1 = await servers[1]!.client.callTool({ name: 'loopiq_get_release_certification', arguments: { certificationId: 'cert_acme_2' } });
      expect(r1.isError, JSON.stringify(r1.content)).toBeFalsy();
      expect(refreshes().length - before).toBe(1);
      current = await stored();

      // The login ends at the provider (refresh token revoked too): a clear "log in again" for this endpoint, no crash.
      await (await sb.provider.RefreshToken.find(current.refreshToken))!.destroy();
      await (await sb.provider.AccessToken.find(current.accessToken))!.destroy();
      const ended = await servers[0]!.client.callTool({ name: 'loopiq_get_release_certification', arguments: { certificationId: 'cert_acme_2' } });
      expect(ended.isError).toBe(true);
      expect(JSON.stringify(ended.content)).toContain(`loopiq-mcp login --mcp-url ${mcpUrl} --web`);

      const texts = [...readAllFiles(u.home.dir), ...u.outputs, ...servers.map((s) => s.transport.stderr), ...servers.flatMap((s) => s.transport.stdoutLines)];
      expect(seen.size).toBeGreaterThanOrEqual(6);
      for (const t of seen) for (const text of texts) expect(text).not.toContain(t);
    } finally {
      await Promise.all(servers.map((s) => s.close()));
    }
  });
});

/** The OAuth pieces that need no authorization server: argv, stored formats, discovery refusals. */
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { browserCommand } from '../src/auth/oauth/browser.js';
import { oauthClient } from '../src/auth/oauth/client.js';
import { needsRefresh, parseStored, refreshMarginMs, serialize, type OAuthCredential } from '../src/auth/oauth/credential.js';
import { discoverAuthServer } from '../src/auth/oauth/discovery.js';
import { StoredTokenSource } from '../src/auth/oauth/token-source.js';
import type { SecretStore } from '../src/auth/keychain.js';

const URL_WITH_METACHARACTERS = 'https://auth.example/authorize?a=1&b=$(touch /tmp/x);c=`id`|d';

describe('opening the browser', () => {
  it('passes the URL as one argv element on every platform, never to a shell', () => {
    expect(browserCommand(URL_WITH_METACHARACTERS, {}, 'linux')).toEqual(['xdg-open', [URL_WITH_METACHARACTERS]]);
    expect(browserCommand(URL_WITH_METACHARACTERS, {}, 'darwin')).toEqual(['open', [URL_WITH_METACHARACTERS]]);
    expect(browserCommand(URL_WITH_METACHARACTERS, {}, 'win32')).toEqual(['rundll32', ['url.dll,FileProtocolHandler', URL_WITH_METACHARACTERS]]);
    expect(browserCommand(URL_WITH_METACHARACTERS, { BROWSER: '/opt/firefox/firefox' }, 'linux')).toEqual(['/opt/firefox/firefox', [URL_WITH_METACHARACTERS]]);
  });
});

const cred = (over: Partial<OAuthCredential> = {}): OAuthCredential => ({
  kind: 'oauth',
  v: 1,
  accessToken: 'at_0123456789',
  refreshToken: 'rt_0123456789',
  expiresAt: 1_000_000 + 3_600_000,
  obtainedAt: 1_000_000,
  issuer: 'https://auth.example',
  tokenEndpoint: 'https://auth.example/token',
  clientId: 'cli',
  resource: 'https://api.example',
  flow: 'web',
  ...over,
});

describe('the keychain value', () => {
  it('a pasted token stays a plain string; only a complete OAuth JSON value is read as OAuth', () => {
    expect(parseStored('lqp_abcdef123456\n')).toEqual({ kind: 'token', token: 'lqp_abcdef123456' });
    expect(parseStored('{not json').kind).toBe('token');
    expect(parseStored('{"kind":"other","accessToken":"x"}').kind).toBe('token');
    expect(parseStored(serialize(cred()))).toEqual(cred());
  });

  it('refreshes a fifth of the lifetime early, at most a minute', () => {
    expect(refreshMarginMs(cred())).toBe(60_000);
    expect(refreshMarginMs(cred({ obtainedAt: 0, expiresAt: 10_000 }))).toBe(2_000);
    expect(needsRefresh(cred(), 1_000_000 + 3_600_000 - 60_001)).toBe(false);
    expect(needsRefresh(cred(), 1_000_000 + 3_600_000 - 60_000)).toBe(true);
    const noExpiry = cred();
    delete noExpiry.expiresAt;
    expect(needsRefresh(noExpiry, Number.MAX_SAFE_INTEGER)).toBe(false);
  });

  it('a pasted token in the keychain is read once, and re-read only after a 401 (as before OAuth)', async () => {
    let value = 'lqp_first_token_1';
    let reads = 0;
    const store: SecretStore = { get: () => Promise.resolve((reads++, value)), set: async () => {}, delete: () => Promise.resolve(true) };
    const source = new StoredTokenSource(store, { origin: 'https://api.example', stateDir: '/nonexistent' });
    expect(await source.get()).toBe('lqp_first_token_1');
    expect(await source.get()).toBe('lqp_first_token_1');
    expect(reads).toBe(1);
    expect(await source.reload()).toBeUndefined();
    value = 'lqp_second_token_2';
    expect(await source.reload()).toBe('lqp_second_token_2');
  });
});

describe('refresh failures', () => {
  it('an unreachable authorization server: the current token is used until it expires, then the error says why', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'loopiq-oauth-unit-'));
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => { r(); }));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => { r(); }));
    const now = Date.now();
    let value = serialize(cred({ tokenEndpoint: `http://127.0.0.1:${port}/token`, issuer: `http://127.0.0.1:${port}`, obtainedAt: now - 40_000, expiresAt: now + 8_000 }));
    const store: SecretStore = {
      get: () => Promise.resolve(value),
      set: (v) => {
        value = v;
        return Promise.resolve();
      },
      delete: () => Promise.resolve(true),
    };
    const source = new StoredTokenSource(store, { origin: 'https://api.example', stateDir });
    expect(await source.get()).toBe('at_0123456789');
    value = serialize(cred({ tokenEndpoint: `http://127.0.0.1:${port}/token`, issuer: `http://127.0.0.1:${port}`, obtainedAt: now - 60_000, expiresAt: now - 1 }));
    await expect(new StoredTokenSource(store, { origin: 'https://api.example', stateDir }).get()).rejects.toThrow(/Refreshing the OAuth access token failed \(ECONNREFUSED\)/);
  });
});

describe('discovery refuses what it must not trust', () => {
  let server: Server | undefined;
  afterEach(
    () =>
      new Promise<void>((r) => {
        if (server) server.close(() => { r(); });
        else r();
      }),
  );

  /** An API whose routes answer with the given JSON (path → body), everything else 404. */
  async function api(routes: (base: string) => Record<string, unknown>, unauthorizedHeader?: (base: string) => string): Promise<string> {
    let base = '';
    server = createServer((req, res) => {
      const body = routes(base)[req.url ?? ''];
      if ((req.url === '/api/v1/me' || (req.url === '/mcp' && req.method === 'POST')) && unauthorizedHeader) {
        res.writeHead(401, { 'www-authenticate': unauthorizedHeader(base) }).end();
        return;
      }
      if (body === undefined) res.writeHead(404).end();
      else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => { r(); }));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return base;
  }

  it('an API without protected resource metadata: "does not offer OAuth login"', async () => {
    const base = await api(() => ({}));
    await expect(discoverAuthServer(base)).rejects.toThrow(/does not offer OAuth login: no protected resource metadata/);
  });

  it('metadata that names another resource', async () => {
    const base = await api(() => ({ '/.well-known/oauth-protected-resource': { resource: 'https://evil.example', authorization_servers: ['https://auth.example'] } }));
    await expect(discoverAuthServer(base)).rejects.toThrow(/names another resource \(https:\/\/evil.example\)/);
  });

  it('an authorization server over plain http to another host', async () => {
    const base = await api((b) => ({ '/.well-known/oauth-protected-resource': { resource: b, authorization_servers: ['http://auth.example'] } }));
    await expect(discoverAuthServer(base)).rejects.toThrow(/not https/);
  });

  it('a 401 that points at resource metadata on another origin', async () => {
    const base = await api(() => ({}), () => 'Bearer resource_metadata="https://evil.example/.well-known/oauth-protected-resource"');
    await expect(discoverAuthServer(base)).rejects.toThrow(/another origin \(https:\/\/evil.example\)/);
  });

  it('authorization server metadata that names another issuer (mix-up)', async () => {
    const base = await api((b) => ({
      '/.well-known/oauth-protected-resource': { resource: b, authorization_servers: [b] },
      '/.well-known/oauth-authorization-server': { issuer: 'https://evil.example', authorization_endpoint: `${b}/auth`, token_endpoint: `${b}/token`, response_types_supported: ['code'] },
      '/.well-known/openid-configuration': { issuer: 'https://evil.example', authorization_endpoint: `${b}/auth`, token_endpoint: `${b}/token`, response_types_supported: ['code'] },
    }));
    await expect(discoverAuthServer(base)).rejects.toThrow(/did not give its metadata/);
  });

  it('a hosted MCP endpoint: its 401 leads to its own metadata; a sibling resource is refused', async () => {
    const base = await api(
      // Only the 401 names where the metadata is (no well-known URL has it).
      (b) => ({ '/metadata-for-mcp': { resource: `${b}/other`, authorization_servers: [b] } }),
      (b) => `Bearer resource_metadata="${b}/metadata-for-mcp"`,
    );
    await expect(discoverAuthServer(`${base}/mcp`, fetch, 'mcp')).rejects.toThrow(/hosted MCP endpoint at .*\/mcp does not offer OAuth login: its metadata names another resource \(http:\/\/127\.0\.0\.1:\d+\/other\)/);
  });

  it('a hosted MCP endpoint without a challenge: the path-aware metadata (RFC 9728 §3.1) names the endpoint as the resource', async () => {
    const base = await api((b) => ({
      '/.well-known/oauth-protected-resource': { resource: b, authorization_servers: ['https://wrong.example'] },
      '/.well-known/oauth-protected-resource/mcp': { resource: `${b}/mcp`, authorization_servers: [b] },
      '/.well-known/oauth-authorization-server': { issuer: b, authorization_endpoint: `${b}/auth`, token_endpoint: `${b}/token`, response_types_supported: ['code'] },
    }));
    expect(await discoverAuthServer(`${base}/mcp`, fetch, 'mcp')).toMatchObject({ issuer: base, resource: `${base}/mcp` });
  });

  it('no client id and no dynamic registration: says to pass --client-id', async () => {
    const base = await api((b) => ({
      '/.well-known/oauth-protected-resource': { resource: b, authorization_servers: [b] },
      '/.well-known/oauth-authorization-server': { issuer: b, authorization_endpoint: `${b}/auth`, token_endpoint: `${b}/token`, response_types_supported: ['code'] },
    }));
    const found = await discoverAuthServer(base);
    expect(found).toMatchObject({ issuer: base, resource: base });
    await expect(oauthClient(found, { flow: 'web', redirectUri: 'http://127.0.0.1:1/callback' })).rejects.toThrow(/does not offer dynamic client registration, and no client id was given/);
    await expect(oauthClient(found, { flow: 'device' })).rejects.toThrow(/does not offer the device flow/);
    await expect(oauthClient(found, { flow: 'web', clientId: 'preregistered' })).resolves.toMatchObject({ clientId: 'preregistered', registered: false });
  });
});

/**
 * Refresh without the user: short-lived access tokens, three running servers (the built CLI's
 * `serve`, driven by MCP SDK clients) and CLI commands beside them. At each expiry the provider
 * must see exactly one refresh — a rotated refresh token is never lost to a race — and every call
 * keeps answering. Then rotate, a revoked access token (401), and logout with revocation.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AsyncEntry } from '@napi-rs/keyring';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOAuthSandbox, type RunningOAuthSandbox } from '../src/sandbox/oauth-server.js';
import { readAllFiles, webLogin } from './oauth-support.js';
import { cliUser, connectCli } from './support/cli.js';

const TTL_S = 6;
let sb: RunningOAuthSandbox;
beforeAll(async () => {
  sb = await startOAuthSandbox({ accessTokenTtl: TTL_S });
});
afterAll(async () => {
  await sb.close();
});

interface Stored {
  accessToken: string;
  refreshToken: string;
  expiresAt: number;
  clientId: string;
}

const refreshes = () => sb.events.filter((e) => e.endpoint === 'token' && e.grantType === 'refresh_token');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('OAuth refresh across processes', () => {
  it('three servers and a CLI command across two expiries: one refresh each time, no invalid_grant; rotate; 401; logout revokes', async () => {
    const u = cliUser(sb.api.url);
    const entry = new AsyncEntry(u.env.LOOPIQ_KEYCHAIN_SERVICE!, sb.api.url, { linux: { store: 'secret-service' } });
    const seen = new Set<string>();
    const stored = async (): Promise<Stored> => {
      const s = JSON.parse((await entry.getPassword())!) as Stored;
      seen.add(s.accessToken);
      seen.add(s.refreshToken);
      return s;
    };

    const login = await webLogin(u);
    expect(login.code, login.cli.stderr).toBe(0);
    expect((await u.cli(['use-org', 'acme'])).code).toBe(0);
    let current = await stored();

    const servers = await Promise.all([1, 2, 3].map(() => connectCli(['serve'], u.env)));
    try {
      const callAll = () => Promise.all(servers.map((s) => s.client.callTool({ name: 'loopiq_list_releases', arguments: {} })));
      for (const r of await callAll()) expect(r.isError, JSON.stringify(r.content)).toBeFalsy();
      expect(refreshes()).toHaveLength(0);

      for (let expiry = 1; expiry <= 2; expiry++) {
        // Past the access token's expiry: every process finds it stale at the same moment.
        while (Date.now() <= current.expiresAt + 100) await sleep(100);
        const before = refreshes().length;
        const [results, status] = await Promise.all([callAll(), u.cli(['status', '--json'])]);
        for (const r of results) expect(r.isError, JSON.stringify(r.content)).toBeFalsy();
        expect((JSON.parse(status.stdout) as { token: unknown }).token).toMatchObject({ kind: 'oauth', valid: true });
        expect(refreshes().length - before).toBe(1);
        const next = await stored();
        expect(next.accessToken).not.toBe(current.accessToken);
        expect(next.refreshToken).not.toBe(current.refreshToken); // rotated, and the new one kept
        expect(next.expiresAt).toBeGreaterThan(Date.now());
        current = next;
      }
      expect(sb.events.filter((e) => e.error === 'invalid_grant')).toEqual([]);

      // The access token is revoked at the provider before it expires: the first server gets a
      // 401, finds the same token in the keychain, refreshes once; the others then get a 401,
      // find the newer token in the keychain and use it without refreshing.
      const at = await sb.provider.AccessToken.find(current.accessToken);
      await at!.destroy();
      const beforeRevoked = refreshes().length;
      const first = await servers[0]!.client.callTool({ name: 'loopiq_list_releases', arguments: {} });
      expect(first.isError, JSON.stringify(first.content)).toBeFalsy();
      expect(refreshes().length - beforeRevoked).toBe(1);
      for (const s of servers.slice(1)) {
        const r = await s.client.callTool({ name: 'loopiq_list_releases', arguments: {} });
        expect(r.isError, JSON.stringify(r.content)).toBeFalsy();
      }
      expect(refreshes().length - beforeRevoked).toBe(1);
      current = await stored();
      expect(sb.events.filter((e) => e.error === 'invalid_grant')).toEqual([]);

      // `rotate` on an OAuth login refreshes now.
      const before = refreshes().length;
      const rotate = await u.cli(['rotate']);
      expect(rotate.code, rotate.stderr).toBe(0);
      expect(rotate.stdout).toMatch(/Refreshed the OAuth login: new access token expires .* the refresh token was rotated too/);
      expect(refreshes().length - before).toBe(1);
      current = await stored();

      // logout revokes the refresh token (RFC 7009) and deletes the login.
      const revocations = sb.events.filter((e) => e.endpoint === 'revocation').length;
      const logout = await u.cli(['logout']);
      expect(logout.code, logout.stderr).toBe(0);
      expect(logout.stdout).toMatch(/OAuth tokens revoked at the authorization server and removed from the keychain/);
      expect(sb.events.filter((e) => e.endpoint === 'revocation' && e.status === 200).length - revocations).toBe(2);
      expect(await entry.getPassword()).toBeNull();
      expect(await sb.provider.RefreshToken.find(current.refreshToken)).toBeUndefined();
      const reuse = await fetch(`${sb.issuer}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: current.refreshToken, client_id: current.clientId }),
      });
      expect(reuse.status).toBe(400);
      expect(((await reuse.json()) as { error?: string }).error).toBe('invalid_grant');

      // Running servers now get a clear "log in" error, not a crash.
      const after = await servers[0]!.client.callTool({ name: 'loopiq_list_releases', arguments: {} });
      expect(after.isError).toBe(true);
      expect(JSON.stringify(after.content)).toMatch(/login/);

      // Invariant 2: no token in any file we wrote (config, state, locks, audit), any output, or a client config.
      const cfgDir = mkdtempSync(join(tmpdir(), 'loopiq-oauth-client-'));
      const install = await u.cli(['install', '--client', 'cursor', '--config-path', join(cfgDir, 'mcp.json')]);
      expect(install.code, install.stderr).toBe(0);
      const texts = [...readAllFiles(u.home.dir), readFileSync(join(cfgDir, 'mcp.json'), 'utf8'), ...u.outputs, ...servers.map((s) => s.transport.stderr)];
      expect(seen.size).toBeGreaterThanOrEqual(10);
      for (const t of seen) for (const text of texts) expect(text).not.toContain(t);
    } finally {
      await Promise.all(servers.map((s) => s.close()));
    }
  });
});

/**
 * OAuth login against a real authorization server (oidc-provider on 127.0.0.1: DCR, PKCE,
 * device flow, resource indicators, rotating refresh tokens, revocation), with the sandbox API as
 * the resource server validating its tokens. The test is the browser: it follows the URL the CLI
 * prints through the provider's login and consent pages with plain HTTP and cookies.
 */
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AsyncEntry } from '@napi-rs/keyring';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOAuthSandbox, type RunningOAuthSandbox } from '../src/sandbox/oauth-server.js';
import { approveDevice, AUTH_URL, authorizeInBrowser, CliProcess, isLoopbackCallback, TestBrowser, webLogin } from './oauth-support.js';
import { cliUser } from './support/cli.js';

let sb: RunningOAuthSandbox;
beforeAll(async () => {
  sb = await startOAuthSandbox({ deviceInterval: 1 });
});
afterAll(async () => {
  await sb.close();
});

type User = ReturnType<typeof cliUser>;
const entry = (u: User) => new AsyncEntry(u.env.LOOPIQ_KEYCHAIN_SERVICE!, sb.api.url, { linux: { store: 'secret-service' } });
describe('login --web (authorization code + PKCE, loopback redirect)', () => {
  it('--no-browser: URL on its own stderr line → provider login + consent → code at the loopback → keychain → status says OAuth', async () => {
    const u = cliUser(sb.api.url);
    const { cli, code, landing, authUrl, callback } = await webLogin(u);
    expect(code, cli.stderr).toBe(0);
    expect(landing.status).toBe(200);
    expect(landing.html).toMatch(/Logged in to LoopIQ[\s\S]*You can close this tab/);
    expect(cli.stdout).toMatch(/Logged in to http:\/\/127\.0\.0\.1:\d+ as Alex Rivera <alex@example.com> with OAuth/);
    expect(cli.stdout).toMatch(/refreshed automatically; stored in the OS keychain/);

    // What was asked for: PKCE S256, a state, the resource indicator, a loopback redirect on a random port.
    const asked = new URL(authUrl);
    expect(asked.searchParams.get('code_challenge_method')).toBe('S256');
    expect(asked.searchParams.get('state')).toMatch(/^[\w-]{32,}$/);
    expect(asked.searchParams.get('resource')).toBe(sb.api.url);
    expect(asked.searchParams.get('redirect_uri')).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/);
    expect(callback.searchParams.get('iss')).toBe(sb.issuer);

    // The listener closed after its one use.
    await expect(fetch(callback.href)).rejects.toThrow();

    const stored = JSON.parse((await entry(u).getPassword())!) as { refreshToken: string; accessToken: string; expiresAt: number; clientId: string };
    expect(stored).toMatchObject({ kind: 'oauth', v: 1, flow: 'web', resource: sb.api.url, issuer: sb.issuer, tokenEndpoint: `${sb.issuer}/token` });
    expect(stored.clientId).toEqual(expect.any(String));
    expect(stored.refreshToken).toEqual(expect.any(String));
    expect(stored.expiresAt).toBeGreaterThan(Date.now());
    // Registered dynamically (RFC 7591) as a public native client.
    const client = await sb.provider.Client.find(stored.clientId);
    expect(client?.tokenEndpointAuthMethod).toBe('none');

    const status = await u.cli(['status']);
    expect(status.stdout).toMatch(/Token: +OAuth \(browser login at http:\/\/127\.0\.0\.1:\d+\), from keychain; access token expires \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC, refreshed automatically/);
    const json = JSON.parse((await u.cli(['use-org', 'acme'], undefined)).code === 0 ? (await u.cli(['status', '--json'])).stdout : '{}') as { token: { expiresAt: string } };
    expect(json).toMatchObject({ ok: true, token: { source: 'keychain', kind: 'oauth', valid: true, oauth: { flow: 'web', refreshable: true } } });
    expect(Date.parse(json.token.expiresAt)).toBe(stored.expiresAt);

    for (const o of u.outputs) {
      expect(o).not.toContain(stored.accessToken);
      expect(o).not.toContain(stored.refreshToken);
    }
  });

  it('uses a pre-registered client id (LOOPIQ_OAUTH_CLIENT_ID) instead of registering one', async () => {
    // The administrator's registration: a public native client with a loopback redirect (any port, RFC 8252 §7.3).
    const reg = await fetch(`${sb.issuer}/reg`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ application_type: 'native', redirect_uris: ['http://127.0.0.1/callback'], token_endpoint_auth_method: 'none', grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'] }),
    });
    expect(reg.status).toBe(201);
    const { client_id } = (await reg.json()) as { client_id: string };
    const registrations = sb.events.filter((e) => e.endpoint === 'registration').length;
    const u = cliUser(sb.api.url);
    const { code, cli, authUrl } = await webLogin({ ...u, env: { ...u.env, LOOPIQ_OAUTH_CLIENT_ID: client_id } });
    expect(code, cli.stderr).toBe(0);
    expect(new URL(authUrl).searchParams.get('client_id')).toBe(client_id);
    expect(sb.events.filter((e) => e.endpoint === 'registration').length).toBe(registrations);
    expect((JSON.parse((await entry(u).getPassword())!) as { clientId: string }).clientId).toBe(client_id);
  });

  it('refuses a response with the wrong state: nothing redeemed, nothing stored', async () => {
    const u = cliUser(sb.api.url);
    const cli = new CliProcess(['login', '--web', '--no-browser'], u.env);
    const [, authUrl] = await cli.waitFor(AUTH_URL);
    const browser = new TestBrowser();
    const callback = await authorizeInBrowser(browser, authUrl!);
    const forged = new URL(callback);
    forged.searchParams.set('state', 'attacker-chosen-state');
    const tokenCallsBefore = sb.events.filter((e) => e.endpoint === 'token').length;
    const page = await browser.go(forged.href);
    expect(page.status).toBe(400);
    expect(page.html).toMatch(/login failed[\s\S]*state[\s\S]*You can close this tab/i);
    expect(await cli.exited).toBe(1);
    expect(cli.stderr).toMatch(/did not carry the state this login sent/);
    expect(sb.events.filter((e) => e.endpoint === 'token').length).toBe(tokenCallsBefore);
    expect(await entry(u).getPassword()).toBeNull();
  });

  it('refuses a code that was already used (the provider says invalid_grant): nothing stored', async () => {
    const first = cliUser(sb.api.url);
    const { callback: used, code } = await webLogin(first);
    expect(code).toBe(0);

    const u = cliUser(sb.api.url);
    const cli = new CliProcess(['login', '--web', '--no-browser'], u.env);
    const [, authUrl] = await cli.waitFor(AUTH_URL);
    const mine = new URL(new URL(authUrl!).searchParams.get('redirect_uri')!);
    mine.searchParams.set('code', used.searchParams.get('code')!);
    mine.searchParams.set('state', new URL(authUrl!).searchParams.get('state')!);
    mine.searchParams.set('iss', sb.issuer);
    const page = await new TestBrowser().go(mine.href);
    expect(page.status).toBe(400);
    expect(await cli.exited).toBe(1);
    expect(cli.stderr).toMatch(/Exchanging the authorization code failed \(invalid_grant/);
    expect(await entry(u).getPassword()).toBeNull();
  });

  it('gives up after LOOPIQ_OAUTH_TIMEOUT when no browser comes back, and closes the listener', async () => {
    const u = cliUser(sb.api.url);
    const cli = new CliProcess(['login', '--web', '--no-browser'], { ...u.env, LOOPIQ_OAUTH_TIMEOUT: '1' });
    const [, authUrl] = await cli.waitFor(AUTH_URL);
    expect(await cli.exited).toBe(1);
    expect(cli.stderr).toMatch(/No login arrived from the browser within 1 s/);
    await expect(fetch(new URL(authUrl!).searchParams.get('redirect_uri')!)).rejects.toThrow();
    expect(await entry(u).getPassword()).toBeNull();
  });

  it('opens the browser from $BROWSER with the URL as one argv element (no shell)', async () => {
    const u = cliUser(sb.api.url);
    const argvFile = join(u.home.dir, 'browser-argv.json');
    const fakeBrowser = join(u.home.dir, 'fake-browser');
    writeFileSync(fakeBrowser, `#!${process.execPath}\nrequire('fs').writeFileSync(${JSON.stringify(argvFile)}, JSON.stringify(process.argv.slice(2)));\n`);
    chmodSync(fakeBrowser, 0o755);
    const cli = new CliProcess(['login', '--web'], { ...u.env, BROWSER: fakeBrowser });
    const [, printed] = await cli.waitFor(AUTH_URL);
    expect(cli.stderr).toMatch(/Opening your browser/);
    let argv: string[] | undefined;
    while (!argv) {
      try {
        argv = JSON.parse(readFileSync(argvFile, 'utf8')) as string[];
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    expect(argv).toEqual([printed]);
    expect(printed).toContain('&'); // would split a shell command line
    const browser = new TestBrowser();
    await browser.go((await authorizeInBrowser(browser, printed!)).href);
    expect(await cli.exited, cli.stderr).toBe(0);
  });

  it('a denied consent ends the login with a clear message', async () => {
    const u = cliUser(sb.api.url);
    const cli = new CliProcess(['login', '--web', '--no-browser'], u.env);
    const [, authUrl] = await cli.waitFor(AUTH_URL);
    const browser = new TestBrowser();
    const login = await browser.go(authUrl!, {}, isLoopbackCallback);
    const abort = /href="([^"]+\/abort)"/.exec(login.html)![1]!;
    const back = await browser.go(abort, {}, isLoopbackCallback);
    expect(new URL(back.url).searchParams.get('error')).toBe('access_denied');
    await browser.go(back.url);
    expect(await cli.exited).toBe(1);
    expect(cli.stderr).toMatch(/did not authorize loopiq-mcp \(access_denied/);
    expect(await entry(u).getPassword()).toBeNull();
  });
});

describe('login --device (RFC 8628)', () => {
  it('prints the verification URI and code; completes once the user approves; honours slow_down', async () => {
    const u = cliUser(sb.api.url);
    sb.slowDownNext(1);
    const cli = new CliProcess(['login', '--device'], u.env);
    const [, uri] = await cli.waitFor(/^To log in to LoopIQ, open this URL on any device:\n(\S+)$/m);
    const [, userCode] = await cli.waitFor(/^and enter the code: (\S+)$/m);
    await cli.waitFor(/^Or open this URL, which already carries the code:\n\S+user_code=\S+$/m);
    // Let the CLI poll into the slow_down before approving.
    while (!sb.events.some((e) => e.error === 'slow_down')) await new Promise((r) => setTimeout(r, 100));
    const done = await approveDevice(uri!, userCode!);
    expect(done.html).toMatch(/Sign-in Success|success/i);
    expect(await cli.exited, cli.stderr).toBe(0);
    expect(cli.stdout).toMatch(/as Alex Rivera <alex@example.com> with OAuth/);
    const polls = sb.events.filter((e) => e.grantType === 'urn:ietf:params:oauth:grant-type:device_code');
    const slow = polls.findIndex((e) => e.error === 'slow_down');
    // RFC 8628 §3.5: after slow_down the interval grows by 5 s (advertised 1 s → at least 6 s).
    expect(polls[slow + 1]!.at - polls[slow]!.at).toBeGreaterThanOrEqual(5_900);
    expect(polls.at(-1)).toMatchObject({ status: 200 });
    expect(JSON.parse((await entry(u).getPassword())!)).toMatchObject({ kind: 'oauth', flow: 'device' });
    expect((await u.cli(['status'])).stdout).toMatch(/Token: +OAuth \(device login at/);
  });

  it('a denied device login stops polling with access_denied and stores nothing', async () => {
    const u = cliUser(sb.api.url);
    const cli = new CliProcess(['login', '--device'], u.env);
    const [, uri] = await cli.waitFor(/open this URL on any device:\n(\S+)$/m);
    const [, userCode] = await cli.waitFor(/^and enter the code: (\S+)$/m);
    await approveDevice(uri!, userCode!, { abort: true });
    expect(await cli.exited).toBe(1);
    expect(cli.stderr).toMatch(/The login was denied at the authorization server/);
    expect(await entry(u).getPassword()).toBeNull();
  });

  it('a device code that expires before approval ends with expired_token and stores nothing', async () => {
    const short = await startOAuthSandbox({ deviceInterval: 1, deviceCodeTtl: 2 });
    try {
      const u = cliUser(short.api.url);
      const cli = new CliProcess(['login', '--device'], u.env);
      expect(await cli.exited).toBe(1);
      expect(short.events.some((e) => e.error === 'expired_token')).toBe(true);
      expect(cli.stderr).toMatch(/The device code expired before the login was approved/);
      expect(await new AsyncEntry(u.env.LOOPIQ_KEYCHAIN_SERVICE!, short.api.url, { linux: { store: 'secret-service' } }).getPassword()).toBeNull();
    } finally {
      await short.close();
    }
  });

  it('refuses --device with --with-token, and --web with --device (usage errors)', async () => {
    const u = cliUser(sb.api.url);
    expect((await u.cli(['login', '--device', '--with-token'])).code).toBe(2);
    expect((await u.cli(['login', '--web', '--device'])).code).toBe(2);
  });
});

describe('loopiq-mcp sandbox --oauth (the built CLI)', () => {
  it('serves the API and an authorization server that a --web login completes against', async () => {
    const sandbox = new CliProcess(['sandbox', '--oauth', '--port', '0', '--oauth-port', '0'], cliUser('http://127.0.0.1:1').env);
    try {
      const [, apiUrl] = await sandbox.waitFor(/^SANDBOX LoopIQ API at (http:\/\/127\.0\.0\.1:\d+)/m, 'stdout');
      const [, issuer] = await sandbox.waitFor(/^SANDBOX OAuth authorization server at (http:\/\/127\.0\.0\.1:\d+)/m, 'stdout');
      const prm: unknown = await (await fetch(`${apiUrl}/.well-known/oauth-protected-resource`)).json();
      expect(prm).toMatchObject({ resource: apiUrl, authorization_servers: [issuer] });
      const u = cliUser(apiUrl!);
      const { code, cli } = await webLogin(u);
      expect(code, cli.stderr).toBe(0);
      expect(cli.stdout).toMatch(/as Alex Rivera <alex@example.com> with OAuth/);
      const status = await u.cli(['status', '--json']);
      expect((JSON.parse(status.stdout) as { token: unknown }).token).toMatchObject({ kind: 'oauth', valid: true });
    } finally {
      sandbox.child.kill('SIGTERM');
      await sandbox.exited;
    }
  });
});

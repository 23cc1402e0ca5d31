import { AsyncEntry } from '@napi-rs/keyring';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOAuthSandbox, type RunningOAuthSandbox } from '../src/sandbox/oauth-server.js';
import { authorizeInBrowser, CliProcess, TestBrowser } from './oauth-support.js';
import { cliUser } from './support/cli.js';

let sb: RunningOAuthSandbox;
beforeAll(async () => {
  sb = await startOAuthSandbox({ deviceInterval: 1 });
});
afterAll(() => sb?.close());

const keychainValue = (u: ReturnType<typeof cliUser>) => new AsyncEntry(u.env.LOOPIQ_KEYCHAIN_SERVICE!, sb.api.url, { linux: { store: 'secret-service' } }).getPassword();

describe('login --web', () => {
  it('--no-browser: the printed URL, the provider login + consent, the code at the loopback, the keychain, status', async () => {
    const u = cliUser(sb.api.url);
    const cli = new CliProcess(['login', '--web', '--no-browser'], u.env);
    const [, authUrl] = await cli.waitFor(/^(http:\/\/127\.0\.0\.1:\d+\/auth\?\S+)$/m);
    const browser = new TestBrowser();
    const callback = await authorizeInBrowser(browser, authUrl!);
    const landing = await browser.go(callback.href);
    expect(landing.status).toBe(200);
    expect(landing.html).toMatch(/You can close this tab/);
    expect(await cli.exited, cli.stderr).toBe(0);
    expect(cli.stdout).toMatch(/Logged in to http:\/\/127\.0\.0\.1:\d+ as Alex Rivera <alex@example.com> with OAuth/);
    const stored = JSON.parse((await keychainValue(u))!);
    expect(stored).toMatchObject({ kind: 'oauth', clientId: expect.any(String), resource: sb.api.url, issuer: sb.issuer });
    const status = await u.cli(['status', '--json']);
    console.log(status.stdout, status.stderr);
  });
});

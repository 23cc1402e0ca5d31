import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type RunningSandbox } from '../src/sandbox/fake-loopiq.js';
import { CLI, cliUser, connectCli, runCli } from './support/cli.js';

let sandbox: RunningSandbox;
beforeAll(async () => {
  sandbox = await startSandbox();
});
afterAll(() => sandbox.close());

const user = () => cliUser(sandbox.url);

function filesUnder(dir: string): string[] {
  let out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    out = statSync(p).isDirectory() ? out.concat(filesUnder(p)) : out.concat(p);
  }
  return out;
}

describe('identity commands against the sandbox with the real keychain', () => {
  it('login → status → orgs → use-org → rotate → logout', async () => {
    const u = user();
    const token = sandbox.fake.issueToken('usr_alex', { name: 'laptop' });

    const login = await u.cli(['login', '--with-token'], `${token}\n`);
    expect(login.code, login.stderr).toBe(0);
    expect(login.stdout).toContain('Logged in to http://127.0.0.1');
    expect(login.stdout).toContain('as Alex Rivera <alex@example.com>');
    expect(login.stdout).toMatch(/stored in the OS keychain/);
    expect(login.stdout).toMatch(/several organizations: choose one with `loopiq-mcp use-org/);

    const notReady = await u.cli(['status']);
    expect(notReady.code).toBe(1);
    expect(notReady.stdout).toMatch(/No organization selected and you belong to 3/);

    const orgs = await u.cli(['orgs', '--json']);
    expect((JSON.parse(orgs.stdout) as { slug: string }[]).map((o) => o.slug)).toEqual(['acme', 'globex', 'umbrella']);

    expect((await u.cli(['use-org', 'initech'])).stderr).toMatch(/not a member of an organization "initech"/);
    expect((await u.cli(['use-org', 'umbrella'])).stderr).toMatch(/MCP access is disabled for Umbrella/);
    const use = await u.cli(['use-org', 'acme']);
    expect(use.code, use.stderr).toBe(0);
    expect((JSON.parse(readFileSync(join(u.home.env.LOOPIQ_CONFIG_DIR, 'config.json'), 'utf8')) as { organizations: Record<string, { id: string }> }).organizations[sandbox.url]!.id).toBe('org_acme');
    expect(statSync(join(u.home.env.LOOPIQ_CONFIG_DIR, 'config.json')).mode & 0o777).toBe(0o600);
    expect(statSync(u.home.env.LOOPIQ_CONFIG_DIR).mode & 0o777).toBe(0o700);

    const status = await u.cli(['status', '--json']);
    expect(status.code, status.stdout).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ ok: true, token: { source: 'keychain', valid: true }, organization: { selected: { slug: 'acme' }, valid: true } });

    const rotate = await u.cli(['rotate']);
    expect(rotate.code, rotate.stderr).toBe(0);
    expect(rotate.stdout).toMatch(/old token revoked/);
    const old = sandbox.fake.tokens.get(token)!;
    expect(old.revoked).toBe(true);
    const after = await u.cli(['status', '--json']);
    expect((JSON.parse(after.stdout) as { ok: boolean }).ok).toBe(true);

    const logout = await u.cli(['logout']);
    expect(logout.code).toBe(0);
    expect(logout.stdout).toMatch(/token revoked and removed from the keychain/);
    const gone = await u.cli(['status']);
    expect(gone.code).toBe(1);
    expect(gone.stdout).toMatch(/not logged in, or the keyring is locked/);

    // Invariant 2: the token never appears in any output or file we wrote.
    const newest = [...sandbox.fake.tokens.entries()].filter(([, r]) => r.userId === 'usr_alex').map(([t]) => t);
    const files = filesUnder(u.home.dir).map((f) => readFileSync(f, 'utf8'));
    for (const t of newest) {
      for (const o of [...u.outputs, ...files]) expect(o).not.toContain(t);
    }
  });

  it('a single-org user is auto-selected at login', async () => {
    const u = user();
    const token = sandbox.fake.issueToken('usr_sam');
    const r = await u.cli(['login', '--with-token'], token);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Selected Initech \(initech\) automatically: it is your only organization/);
    expect((await u.cli(['status'])).code).toBe(0);
  });

  it('login validates before storing: a bad token stores nothing', async () => {
    const u = user();
    const r = await u.cli(['login', '--with-token'], 'lqp_not_a_real_token');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/did not accept this token \(unknown or revoked\); nothing was stored/);
    expect(r.stderr).toMatch(/copied the whole token/);
    // LOOPIQ_TOKEN is not set: it must not be blamed (issue 12, the first error most users see).
    expect(r.stderr).not.toMatch(/LOOPIQ_TOKEN/);
    expect(r.stderr).not.toMatch(/\.\./);
    const after = await u.cli(['status']);
    expect(after.stdout).toMatch(/Token: +none \(not logged in\)/);
    expect(after.stdout).not.toMatch(/NOT VALID/);
  });

  it('login and rotate refuse while LOOPIQ_TOKEN is set, and say why', async () => {
    const u = user();
    for (const verb of [['login', '--with-token'], ['rotate']]) {
      const r = await u.cli(verb, 'x', { LOOPIQ_TOKEN: 'whatever' });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/while LOOPIQ_TOKEN is set/);
      expect(r.stderr).toMatch(/unset LOOPIQ_TOKEN/);
    }
  });

  it('login without a TTY and without --with-token says how to pipe the token', async () => {
    const u = user();
    const r = await u.cli(['login']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--with-token/);
  });

  it('status: env token warning, and an expired token is reported with exit 1', async () => {
    const u = user();
    const expired = sandbox.fake.issueToken('usr_sam', { expiresInMs: -1000 });
    const r = await u.cli(['status', '--json'], undefined, { LOOPIQ_TOKEN: expired });
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout) as { token: { problem?: string } };
    expect(report.token).toMatchObject({ source: 'env', valid: false, warning: 'LOOPIQ_TOKEN is set and overrides the keychain.' });
    expect(report.token.problem).toMatch(/token_expired/);
    const soon = sandbox.fake.issueToken('usr_sam', { expiresInMs: 3 * 86_400_000 });
    const s = await u.cli(['status'], undefined, { LOOPIQ_TOKEN: soon });
    expect(s.code).toBe(0);
    expect(s.stdout).toMatch(/expires in 2 day\(s\): run `loopiq-mcp rotate`/);
  });

  it('three running servers keep answering across a rotate (one 401 each, re-read, retry)', async () => {
    const u = user();
    const token = sandbox.fake.issueToken('usr_alex');
    expect((await u.cli(['login', '--with-token'], token)).code).toBe(0);
    expect((await u.cli(['use-org', 'globex'])).code).toBe(0);
    const servers = await Promise.all([1, 2, 3].map(() => connectCli(['serve'], { ...u.env, LOOPIQ_LOG_LEVEL: 'debug' })));
    const call = (i: number) => servers[i]!.client.callTool({ name: 'loopiq_list_incidents', arguments: {} });
    for (let i = 0; i < 3; i++) expect((await call(i)).isError).toBeFalsy();

    const before = sandbox.fake.requests.length;
    expect((await u.cli(['rotate'])).code).toBe(0);
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 3; i++) {
        const r = await call(i);
        expect(r.isError, JSON.stringify(r.content)).toBeFalsy();
        expect((r.structuredContent as { organization: { slug: string } }).organization.slug).toBe('globex');
      }
    }
    const unauthorized = sandbox.fake.requests.slice(before).filter((r) => r.status === 401);
    expect(unauthorized).toHaveLength(3);
    for (const s of servers) {
      expect(s.transport.stderr.match(/keychain read/g)).toHaveLength(2);
      await s.close();
    }
  });

  it('a running server follows use-org before its next call', async () => {
    const u = user();
    expect((await u.cli(['login', '--with-token'], sandbox.fake.issueToken('usr_alex'))).code).toBe(0);
    expect((await u.cli(['use-org', 'acme'])).code).toBe(0);
    const s = await connectCli(['serve'], u.env);
    const org = async () => ((await s.client.callTool({ name: 'loopiq_list_releases', arguments: {} })).structuredContent as { organization: { slug: string } }).organization.slug;
    expect(await org()).toBe('acme');
    expect((await u.cli(['use-org', 'globex'])).code).toBe(0);
    expect(await org()).toBe('globex');
    await s.close();
  });

  it('interactive login hides the token as it is typed (real pseudo-terminal)', async () => {
    const u = user();
    const token = sandbox.fake.issueToken('usr_sam');
    const out = await new Promise<{ code: number | null; output: string }>((resolve) => {
      const child = spawn('script', ['-qec', `${process.execPath} ${CLI} login`, '/dev/null'], { env: { ...u.env, TERM: 'dumb' } });
      let output = '';
      let typed = false;
      child.stdout.on('data', (c: Buffer) => {
        output += c.toString();
        if (!typed && output.includes('input hidden')) {
          typed = true;
          child.stdin.write(`${token}\r`);
        }
      });
      child.on('close', (code) => { resolve({ code, output }); });
    });
    expect(out.code, out.output).toBe(0);
    expect(out.output).toMatch(/Logged in to .* as Sam Okafor/);
    expect(out.output).not.toContain(token);
  });

  it('a corrupt config file: commands name it and leave it untouched; a running server reports it and keeps serving', async () => {
    const u = user();
    expect((await u.cli(['login', '--with-token'], sandbox.fake.issueToken('usr_alex'))).code).toBe(0);
    expect((await u.cli(['use-org', 'acme'])).code).toBe(0);
    const path = join(u.home.env.LOOPIQ_CONFIG_DIR, 'config.json');
    const good = readFileSync(path, 'utf8');
    const s = await connectCli(['serve'], u.env);
    expect((await s.client.callTool({ name: 'loopiq_list_releases', arguments: {} })).isError).toBeFalsy();

    writeFileSync(path, '{ "organizations": { oops');
    const status = await u.cli(['status']);
    expect(status.code).toBe(1);
    expect(status.stderr).toContain(`${path} is not valid`);
    expect(status.stderr).toMatch(/left untouched/);
    expect((await u.cli(['use-org', 'globex'])).code).toBe(1);
    expect(readFileSync(path, 'utf8')).toBe('{ "organizations": { oops');

    const broken = await s.client.callTool({ name: 'loopiq_list_releases', arguments: {} });
    expect(broken.isError).toBe(true);
    expect((broken.content as { text: string }[])[0]!.text).toContain(`${path} is not valid`);
    writeFileSync(path, good);
    expect((await s.client.callTool({ name: 'loopiq_list_releases', arguments: {} })).isError).toBeFalsy();
    await s.close();
  });

  it.each([
    ['a bogus bus', { DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/bus' }],
    ['no bus at all', { DBUS_SESSION_BUS_ADDRESS: '' }],
  ])('keychain unreachable (%s): login and status exit 1 with the fix, quickly', async (_name, extra) => {
    const u = user();
    const env = Object.fromEntries(Object.entries({ ...u.env, ...extra }).filter(([, v]) => v !== ''));
    const started = Date.now();
    const login = await runCli(['login', '--with-token'], env, sandbox.fake.issueToken('usr_sam'));
    expect(login.code).toBe(1);
    expect(login.stderr).toMatch(/Could not store the token in the OS keychain/);
    expect(login.stderr).toMatch(/Secret Service .*LOOPIQ_TOKEN/s);
    const status = await runCli(['status'], env);
    expect(status.code).toBe(1);
    expect(status.stdout).toMatch(/OS keychain/);
    expect(Date.now() - started).toBeLessThan(8_000);
  });
});

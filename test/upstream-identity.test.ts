import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type RunningSandbox } from '../src/sandbox/fake-loopiq.js';
import { SANDBOX_TOKENS } from '../src/sandbox/seed.js';
import { cliUser, connectCli } from './support/cli.js';

let sandbox: RunningSandbox;
beforeAll(async () => {
  sandbox = await startSandbox();
});
afterAll(() => sandbox.close());

/** A user whose REST API URL points nowhere useful: only the hosted endpoint is used. */
function user() {
  const u = cliUser('https://api.invalid');
  delete (u.env).LOOPIQ_API_URL;
  return u;
}

describe('identity commands in upstream mode', () => {
  it('login --mcp-url validates with initialize + tools/list + whoami, stores the token in the keychain and the URL in the config; orgs, use-org and status use the endpoint; serve then relays it', async () => {
    const { cli, env, home, outputs } = user();
    const mcpUrl = `${sandbox.url}/mcp`;
    const login = await cli(['login', '--mcp-url', mcpUrl, '--with-token'], SANDBOX_TOKENS.alex);
    expect(login.code, login.stderr).toBe(0);
    expect(login.stdout).toContain(`Logged in to the hosted MCP endpoint ${mcpUrl}`);
    expect(login.stdout).toContain('as Alex Rivera <alex@example.com>');
    expect(login.stdout).toMatch(/\d+ tools \(\d+ read-only/);
    const config = readFileSync(join(home.env.LOOPIQ_CONFIG_DIR, 'config.json'), 'utf8');
    expect((JSON.parse(config) as { mcpUrl?: string }).mcpUrl).toBe(mcpUrl);
    expect(config).not.toContain(SANDBOX_TOKENS.alex);

    const orgs = await cli(['orgs']);
    expect(orgs.code).toBe(0);
    expect(orgs.stdout).toContain('Acme Corp (org_acme)');
    expect(orgs.stdout).toContain('Umbrella (org_umbrella, MCP disabled)');

    const bad = await cli(['use-org', 'initech']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('You are not a member of an organization "initech"');
    const disabled = await cli(['use-org', 'umbrella']);
    expect(disabled.code).toBe(1);
    const ok = await cli(['use-org', 'globex']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('Selected Globex (org_globex)');

    const status = await cli(['status']);
    expect(status.code, status.stdout).toBe(0);
    expect(status.stdout).toContain(`Mode:         hosted MCP endpoint ${mcpUrl}`);
    expect(status.stdout).toContain('Organization: org_globex');

    const doctor = await cli(['doctor', '--no-self-test']);
    expect(doctor.code, doctor.stdout).toBe(0);
    expect(doctor.stdout).toMatch(/ok\s+keychain\s+token for http:\/\/127\.0\.0\.1:\d+ found/);
    expect(doctor.stdout).toMatch(/ok\s+hosted-mcp\s+.*accepted the token and listed \d+ tools/);
    expect(doctor.stdout).toMatch(/ok\s+organization\s+Globex \(org_globex\)/);

    // `serve` with no flags: the stored endpoint, the keychain token, the selected org.
    const from = sandbox.mcp.http.length;
    const c = await connectCli(['serve'], { ...env, LOOPIQ_GATE_SECRETS: 'file' });
    const r = (await c.client.callTool({ name: 'loopiq_search_work_items', arguments: { query: 'a' } })) as { isError?: boolean; content: { text: string }[] };
    expect(r.isError, r.content[0]!.text).toBeFalsy();
    expect(r.content[0]!.text).toMatch(/^Result of loopiq_search_work_items in Globex \(org_globex\)\./);
    await c.close();
    for (const h of sandbox.mcp.http.slice(from)) {
      expect(h.authorization).toBe(`Bearer ${SANDBOX_TOKENS.alex}`);
      expect(h.organization).toBe('org_globex');
    }
    for (const o of [...outputs, c.transport.stderr, c.transport.stdoutLines.join('\n')]) expect(o).not.toContain(SANDBOX_TOKENS.alex);
  });

  it('install --mcp-url registers a server that relays the endpoint (no token in the client config)', async () => {
    const { cli, home } = user();
    const path = join(home.dir, 'claude_desktop_config.json');
    const r = await cli(['install', '--client', 'claude-desktop', '--config-path', path, '--mcp-url', `${sandbox.url}/mcp`, '--org', 'org_acme']);
    expect(r.code, r.stderr).toBe(0);
    const entry = (JSON.parse(readFileSync(path, 'utf8')) as { mcpServers: { loopiq: { args: string[] } } }).mcpServers.loopiq;
    expect(entry.args.slice(1)).toEqual(['serve', '--mcp-url', `${sandbox.url}/mcp`, '--org', 'org_acme']);
    expect(readFileSync(path, 'utf8')).not.toMatch(/lqp_/);
    const plain = await cli(['install', '--client', 'claude-desktop', '--config-path', path, '--mcp-url', 'http://example.com/mcp']);
    expect(plain.code).toBe(1);
    expect(plain.stderr).toContain('is not https');
  });

  it('a token the endpoint refuses is not stored', async () => {
    const { cli, home } = user();
    const r = await cli(['login', '--mcp-url', `${sandbox.url}/mcp`, '--with-token'], 'lqp_not_a_real_token_123');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('refused the token (401)');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const status = await cli(['status', '--mcp-url', `${sandbox.url}/mcp`]);
    expect(status.code).toBe(1);
    expect(status.stdout).toContain('NOT VALID');
    expect(() => readFileSync(join(home.env.LOOPIQ_CONFIG_DIR, 'config.json'), 'utf8')).toThrow();
  });
});

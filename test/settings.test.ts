import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { errorFromProblem, LoopIqError } from '../src/api/errors.js';
import { CLIENTS } from '../src/clients/clients.js';
import { windowsLaunchForm } from '../src/clients/windows.js';
import { describeFailure, nearest, UsageError } from '../src/commands/failure.js';
import { serverEntry } from '../src/commands/install.js';
import { launchAsClient, statusArgsFor, staleBus } from '../src/commands/doctor-launch.js';
import { judgeOrg } from '../src/config/org-choice.js';
import { resolveSettings } from '../src/config/settings.js';
import { Cancelled } from '../src/util/prompt.js';
import { addSecret } from '../src/util/redact.js';
import { tempHome } from './support/cli.js';

const home = () => tempHome().env;
const refused = async (env: NodeJS.ProcessEnv, flags: Parameters<typeof resolveSettings>[0] = {}) => {
  const err = await resolveSettings(flags, env).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(LoopIqError);
  return (err as LoopIqError).message;
};

describe('one settings module: every setting validated, the source named in the error', () => {
  it('LOOPIQ_CONFIRM is reported as LOOPIQ_CONFIRM, --confirm as --confirm', async () => {
    expect(await refused({ ...home(), LOOPIQ_CONFIRM: 'sms' })).toBe('LOOPIQ_CONFIRM=sms: unknown channel sms.');
    expect(await refused({ ...home() }, { confirm: 'dialog,sms,fax' })).toBe('--confirm dialog,sms,fax: unknown channels sms, fax.');
    expect(await refused({ ...home(), LOOPIQ_CONFIRM: ' , ' })).toMatch(/^LOOPIQ_CONFIRM= , : no channel given/);
    const ok = await resolveSettings({}, { ...home(), LOOPIQ_CONFIRM: 'terminal,dialog', LOOPIQ_CONFIRM_TIMEOUT: '42' });
    expect(ok.confirm).toEqual({ channels: ['terminal', 'dialog'], channelsSource: 'env', timeoutMs: 42_000, waitMs: 45_000, writeTimeoutMs: 60_000 });
    expect(await refused({ ...home(), LOOPIQ_CONFIRM_WAIT: 'soon' })).toMatch(/^LOOPIQ_CONFIRM_WAIT=soon: not a number of seconds/);
    expect(await refused({ ...home(), LOOPIQ_WRITE_TIMEOUT: '9999' })).toMatch(/^LOOPIQ_WRITE_TIMEOUT=9999: not a number of seconds/);
    // The flag wins over the environment.
    expect((await resolveSettings({ confirm: 'elicitation' }, { ...home(), LOOPIQ_CONFIRM: 'terminal' })).confirm.channels).toEqual(['elicitation']);
  });

  it('LOOPIQ_CONFIRM_TIMEOUT, LOOPIQ_LOG_LEVEL and LOOPIQ_READ_ONLY are refused when malformed', async () => {
    expect(await refused({ ...home(), LOOPIQ_CONFIRM_TIMEOUT: '5m' })).toMatch(/^LOOPIQ_CONFIRM_TIMEOUT=5m: not a number of seconds/);
    expect(await refused({ ...home(), LOOPIQ_LOG_LEVEL: 'verbose' })).toBe('LOOPIQ_LOG_LEVEL=verbose: unknown level.');
    expect(await refused({ ...home(), LOOPIQ_READ_ONLY: 'maybe' })).toBe('LOOPIQ_READ_ONLY=maybe: not a boolean.');
    const s = await resolveSettings({}, { ...home(), LOOPIQ_LOG_LEVEL: 'DEBUG', LOOPIQ_READ_ONLY: 'yes' });
    expect(s).toMatchObject({ logLevel: 'debug', readOnly: true, readOnlySource: 'env' });
  });

  it('URLs: the setting is named, a non-URL is never "null", and only exact loopback may be plain http', async () => {
    expect(await refused(home(), { apiUrl: 'foo:bar' })).toBe('--api-url: "foo:bar" is not https; the token would travel in clear text.');
    expect(await refused(home(), { apiUrl: 'not a url' })).toBe('--api-url: "not a url" is not a URL.');
    expect(await refused({ ...home(), LOOPIQ_API_URL: 'http://127.evil.example' })).toMatch(/^LOOPIQ_API_URL: http:\/\/127\.evil\.example is not https/);
    expect(await refused({ ...home(), LOOPIQ_API_URL: 'http://127.0.0.1.nip.io:8080' })).toMatch(/^LOOPIQ_API_URL: .* is not https/);
    const s = await resolveSettings({}, { ...home(), LOOPIQ_API_URL: 'http://127.0.0.1:8787/' });
    expect(s).toMatchObject({ apiUrl: 'http://127.0.0.1:8787', apiUrlSource: 'env' });
  });

  it('an apiUrl in the config file is checked too, and named', async () => {
    const env = home();
    mkdirSync(env.LOOPIQ_CONFIG_DIR, { recursive: true });
    writeFileSync(join(env.LOOPIQ_CONFIG_DIR, 'config.json'), JSON.stringify({ apiUrl: 'http://10.0.0.5', organizations: {} }));
    expect(await refused(env)).toMatch(/^"apiUrl" in .*config\.json: http:\/\/10\.0\.0\.5 is not https/);
  });

  it('a config file with an unknown key says which key, in words (not "is not valid: [.")', async () => {
    const env = home();
    mkdirSync(env.LOOPIQ_CONFIG_DIR, { recursive: true });
    const path = join(env.LOOPIQ_CONFIG_DIR, 'config.json');
    writeFileSync(path, JSON.stringify({ organisations: {} }));
    expect(await refused(env)).toBe(`${path} is not valid: unknown key "organisations".`);
    writeFileSync(path, '{ "organizations": { oops');
    const msg = await refused(env);
    expect(msg).toMatch(new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is not valid: .*JSON`));
    expect(msg).not.toMatch(/\.\.$|\[\./);
    // login and doctor tolerate it (they are how one recovers); the error is kept for them to report.
    const tolerant = await resolveSettings({}, env, { tolerateConfigError: true });
    expect(tolerant.configError?.message).toBe(msg);
  });
});

describe('one org verdict for status, doctor and orgs', () => {
  const orgs = [
    { id: 'org_a', slug: 'acme', name: 'Acme', role: 'admin', mcpEnabled: true },
    { id: 'org_u', slug: 'umbrella', name: 'Umbrella\u001b[2J', role: 'member', mcpEnabled: false },
  ];
  it('never suggests use-org when --org or LOOPIQ_ORG would override it', () => {
    const flag = judgeOrg(orgs, { value: 'nope', source: 'flag' });
    expect(flag).toMatchObject({ usable: false, problem: '"nope" (from --org) is not one of your organizations.' });
    expect(flag.fix).toBe('Use --org with one of yours: acme, umbrella.');
    expect(flag.fix).not.toMatch(/use-org/);
    expect(judgeOrg(orgs, { value: 'nope', source: 'env' }).fix).toMatch(/^Set LOOPIQ_ORG to one of yours/);
    expect(judgeOrg(orgs, { value: 'nope', source: 'config' }).fix).toMatch(/^Run `loopiq-mcp use-org/);
    expect(judgeOrg(orgs, { value: 'ACME', source: 'config' })).toMatchObject({ usable: true, org: { id: 'org_a' } });
    // API strings are inert: an escape sequence in an org name is shown, not executed.
    expect(judgeOrg(orgs, { value: 'umbrella', source: 'flag' }).problem).toBe('MCP is disabled for Umbrella\\u{001B}[2J.');
  });
});

describe('the top-level failure handler', () => {
  it('maps each kind of failure to a message, a fix and an exit code; never a stack trace', () => {
    const api = describeFailure(new LoopIqError('config_invalid', 'X is wrong.', 'Do Y.'));
    expect(api).toEqual({ text: 'error: X is wrong.\nDo Y.\n', exitCode: 1 });
    expect(describeFailure(new Cancelled())).toEqual({ text: 'Cancelled; nothing was changed.\n', exitCode: 130 });
    expect(describeFailure(new UsageError("unknown command 'x'.", 'Run --help.')).exitCode).toBe(2);
    expect(describeFailure(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }))).toEqual({ text: '', exitCode: 0 });
    const inUse = describeFailure(Object.assign(new Error('listen EADDRINUSE'), { code: 'EADDRINUSE', port: 8787 }));
    expect(inUse.text).toBe('error: the port is already in use (port 8787).\nStop whatever uses it, or choose another port (e.g. `--port 8788`).\n');
    const bug = describeFailure(new TypeError('x is undefined'));
    expect(bug.text).toMatch(/^error: unexpected failure: x is undefined\nThis is a bug in loopiq-mcp; please report it \(LOOPIQ_LOG_LEVEL=debug/);
    expect(bug.text).not.toMatch(/\n\s+at /);
  });

  it('redacts known tokens and renders API text inert', () => {
    addSecret('lqp_handler_secret_123456');
    const f = describeFailure(new LoopIqError('unauthenticated', 'LoopIQ answered 401: bad lqp_handler_secret_123456 \u001b]0;pwned\u0007', 'Log in.'));
    expect(f.text).not.toContain('lqp_handler_secret_123456');
    expect(f.text).toContain('[REDACTED]');
    expect(f.text).not.toContain('\u001b');
  });

  it('suggests the nearest command for a typo', () => {
    const names = ['serve', 'login', 'logout', 'status', 'orgs', 'use-org', 'rotate', 'install', 'doctor'];
    expect(nearest('stauts', names)).toBe('status');
    expect(nearest('instal', names)).toBe('install');
    expect(nearest('docter', names)).toBe('doctor');
    expect(nearest('xyzzyplugh', names)).toBeUndefined();
  });
});

describe('install writes a form each client starts (platform strings)', () => {
  const spec = CLIENTS['claude-desktop'];
  const settings = (env: NodeJS.ProcessEnv, flags = {}) => resolveSettings(flags, { ...home(), ...env });
  const short: Record<string, string> = {
    'C:\\Program Files\\nodejs\\node.exe': 'C:\\PROGRA~1\\nodejs\\node.exe',
    'C:\\Users\\Ada Lovelace\\AppData\\Roaming\\npm\\node_modules\\loopiq-mcp\\bin\\loopiq-mcp.js': 'C:\\Users\\ADALOV~1\\AppData\\Roaming\\npm\\node_modules\\loopiq-mcp\\bin\\loopiq-mcp.js',
  };

  it('Windows: node under "C:\\Program Files" is written as its 8.3 short name (no space, no quote)', async () => {
    const { entry, warning } = serverEntry(spec, await settings({}), {}, {
      platform: 'win32',
      execPath: 'C:\\Program Files\\nodejs\\node.exe',
      script: 'C:\\Users\\Ada Lovelace\\AppData\\Roaming\\npm\\node_modules\\loopiq-mcp\\bin\\loopiq-mcp.js',
      shortName: (p) => short[p],
    });
    expect(entry.command).toBe('C:\\PROGRA~1\\nodejs\\node.exe');
    expect(entry.args).toEqual(['C:\\Users\\ADALOV~1\\AppData\\Roaming\\npm\\node_modules\\loopiq-mcp\\bin\\loopiq-mcp.js', 'serve']);
    expect(JSON.stringify(entry)).not.toMatch(/ /);
    expect(warning).toBeUndefined();
  });

  it('Windows without short names: the path is kept and install says what to do', () => {
    const form = windowsLaunchForm('D:\\Program Files\\nodejs\\node.exe', ['C:\\npm\\cli.js', 'serve', '--org', 'My Org'], () => undefined);
    expect(form.command).toBe('D:\\Program Files\\nodejs\\node.exe');
    expect(form.args).toEqual(['C:\\npm\\cli.js', 'serve', '--org', 'My Org']);
    expect(form.warning).toMatch(/"D:\\Program Files\\nodejs\\node.exe" contains a space .* Install Node\.js .* without spaces/);
    // Paths without spaces are left alone.
    expect(windowsLaunchForm('C:\\nodejs\\node.exe', ['C:\\x\\cli.js', 'serve'], () => 'WRONG')).toEqual({ command: 'C:\\nodejs\\node.exe', args: ['C:\\x\\cli.js', 'serve'] });
  });

  it('macOS / Linux: absolute node and script, the effective API URL, org and read-only, and the shell settings in env', async () => {
    const env = { LOOPIQ_API_URL: 'https://staging.loopiq.example/', LOOPIQ_ORG: 'acme', LOOPIQ_READ_ONLY: '1', DBUS_SESSION_BUS_ADDRESS: 'unix:path=/run/user/1/bus', LOOPIQ_TOKEN: 'lqp_never_in_config' };
    const s = await settings(env);
    const { entry } = serverEntry(CLIENTS.cursor, s, { ...env, LOOPIQ_CONFIG_DIR: '/cfg' }, { platform: 'linux', execPath: '/usr/bin/node', script: '/opt/loopiq/bin/loopiq-mcp.js', shortName: () => undefined });
    expect(entry).toEqual({
      type: 'stdio',
      command: '/usr/bin/node',
      args: ['/opt/loopiq/bin/loopiq-mcp.js', 'serve', '--api-url', 'https://staging.loopiq.example', '--org', 'acme', '--read-only'],
      env: { DBUS_SESSION_BUS_ADDRESS: 'unix:path=/run/user/1/bus', LOOPIQ_CONFIG_DIR: '/cfg' },
    });
    const mac = serverEntry(spec, await settings({}, { org: 'globex' }), { DBUS_SESSION_BUS_ADDRESS: 'x' }, { platform: 'darwin', execPath: '/opt/homebrew/bin/node', script: '/s.js', shortName: () => undefined });
    expect(mac.entry).toEqual({ command: '/opt/homebrew/bin/node', args: ['/s.js', 'serve', '--org', 'globex'] });
  });

  it('client config paths honour the clients\' own overrides', () => {
    expect(CLIENTS['claude-code'].configPath({ HOME: '/h', CLAUDE_CONFIG_DIR: '/h/.claude-work' }, 'linux')).toBe('/h/.claude-work/.claude.json');
    expect(CLIENTS['claude-code'].configPath({ HOME: '/h' }, 'linux')).toBe('/h/.claude.json');
    expect(CLIENTS.vscode.configPath({ HOME: '/h', VSCODE_PORTABLE: '/p' }, 'linux')).toBe('/p/user-data/User/mcp.json');
    expect(CLIENTS.vscode.configPath({ HOME: '/h', XDG_CONFIG_HOME: '/x' }, 'linux')).toBe('/x/Code/User/mcp.json');
    expect(CLIENTS['claude-desktop'].configPath({ HOME: '/h', APPDATA: 'C:\\Users\\a\\AppData\\Roaming' }, 'win32')).toMatch(/^C:\\Users\\a\\AppData\\Roaming.Claude.claude_desktop_config\.json$/);
  });
});

describe('doctor launches an entry as its client would', () => {
  it('keeps only the flags that change what the server does, and finds a stale session bus', () => {
    expect(statusArgsFor({ command: 'n', args: ['/s.js', 'serve', '--tools', 'a,b', '--api-url', 'https://x.example', '--org=acme', '--read-only'] })).toEqual({
      args: ['/s.js', 'status', '--json', '--api-url', 'https://x.example', '--org=acme', '--read-only'],
      sandbox: false,
    });
    expect(statusArgsFor({ command: 'n', args: ['/s.js', 'serve', '--sandbox'] })?.sandbox).toBe(true);
    expect(statusArgsFor({ command: 'npx', args: ['-y', 'loopiq-mcp'] })).toBeUndefined();
    expect(staleBus({ command: 'n', args: [], env: { DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/bus' } })).toBe('unix:path=/nonexistent/bus');
    expect(staleBus({ command: 'n', args: [], env: { DBUS_SESSION_BUS_ADDRESS: `unix:path=${process.cwd()}` } })).toBeUndefined();
  });
});

describe('messages', () => {
  it('an API error ends in one full stop, never ".."', () => {
    const e = errorFromProblem(401, { type: 'about:blank', title: 'Unauthorized', status: 401, code: 'unauthenticated', detail: 'The token is not valid.' }, 'req_1');
    expect(e.message).toBe('LoopIQ answered 401 unauthenticated: The token is not valid.');
  });

  it('doctor refuses an entry whose --api-url is plain http to a host that only looks like loopback', async () => {
    const checks = await launchAsClient('cursor', { command: process.execPath, args: ['/s.js', 'serve', '--api-url', 'http://127.0.0.1.nip.io'] }, {});
    expect(checks).toEqual([
      expect.objectContaining({ name: 'client:cursor:launch', status: 'fail', detail: expect.stringMatching(/^--api-url in the entry: http:\/\/127\.0\.0\.1\.nip\.io is not https/) as unknown }),
    ]);
  });
});

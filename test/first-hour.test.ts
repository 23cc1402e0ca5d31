/**
 * Issue 12, "a new user's first hour": every path a new user takes gives a message with a fix.
 * In-process where the command allows it (memory streams and keychain, the real sandbox over
 * loopback), as subprocesses and in a real pty where the path is the process itself.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoopIqError } from '../src/api/errors.js';
import { doctor } from '../src/commands/doctor.js';
import { login } from '../src/commands/login.js';
import { logout } from '../src/commands/logout.js';
import { orgs } from '../src/commands/orgs.js';
import { rotate } from '../src/commands/rotate.js';
import { sandbox as sandboxCommand } from '../src/commands/sandbox.js';
import { status } from '../src/commands/status.js';
import { startSandbox, type RunningSandbox } from '../src/sandbox/fake-loopiq.js';
import { SANDBOX_ORIGIN, SANDBOX_TOKENS } from '../src/sandbox/seed.js';
import { Cancelled, promptHidden } from '../src/util/prompt.js';
import { inHumanTerminal } from './support/human-terminal.js';
import { baseEnv, CLI, cliUser, connectCli, runCli, tempHome } from './support/cli.js';
import { connectInProcess } from './support/in-process.js';
import { MemoryKeychains, memoryIo } from './support/io.js';

/** `doctor --json` and Claude Code's config file, as far as these tests read them. */
interface DoctorJson {
  checks: { name: string; status: string; detail: string; fix?: string }[];
}
interface ClaudeJson {
  mcpServers: Record<string, { command: string; args: string[]; env?: Record<string, string> }>;
}

let sandbox: RunningSandbox;
beforeAll(async () => {
  sandbox = await startSandbox();
});
afterAll(() => sandbox.close());

const envFor = (extra: Record<string, string> = {}) => ({ ...tempHome().env, LOOPIQ_API_URL: sandbox.url, ...extra });
const STACK = /\n\s+at [\w.<>]+ \(|node:internal|\.ts:\d+:\d+/;

/** Runs a command in a real pseudo-terminal; `react` answers what appears. */
function inPty(command: string, env: Record<string, string>, react: (output: string, write: (s: string) => void) => void): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('script', ['-qec', command, '/dev/null'], { env: { ...env, TERM: 'dumb' } });
    let output = '';
    child.stdout.on('data', (c: Buffer) => {
      output += c.toString();
      react(output, (s) => child.stdin.write(s));
    });
    const t = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, output });
    });
  });
}

describe('the hidden prompt', () => {
  it('turns echo off before it shows the prompt, and Ctrl-C is a quiet cancel', async () => {
    const order: string[] = [];
    const { io, stdin } = memoryIo({});
    stdin.isTTY = true;
    stdin.setRawMode = (raw: boolean) => order.push(`raw:${raw}`);
    io.stderr = { write: (s: string) => order.push(`write:${s}`) };
    const typed = promptHidden(io, 'Token: ');
    stdin.write('lqp_abc\u007fd\r');
    expect(await typed).toBe('lqp_abd');
    expect(order.slice(0, 2)).toEqual(['raw:true', 'write:Token: ']);
    expect(order.at(-2)).toBe('raw:false');

    const cancelled = promptHidden(io, 'Token: ');
    stdin.write('lqp_half\u0003');
    await expect(cancelled).rejects.toBeInstanceOf(Cancelled);
    // The terminal going away mid-prompt is a cancel too, not a silent exit.
    const ended = promptHidden(io, 'Token: ');
    stdin.end('lqp_');
    await expect(ended).rejects.toBeInstanceOf(Cancelled);
  });

  it('Ctrl-C at the real login prompt ends with a message, exit 130, no stack trace', async () => {
    const u = cliUser(sandbox.url);
    let sent = false;
    const r = await inPty(`${process.execPath} ${CLI} login`, u.env, (out, write) => {
      if (!sent && out.includes('input hidden')) {
        sent = true;
        write('lqp_partial\u0003');
      }
    });
    expect(r.code).toBe(130);
    expect(r.output).toContain('Cancelled; nothing was changed.');
    expect(r.output).not.toContain('lqp_partial');
    expect(r.output).not.toMatch(STACK);
  });
});

describe('login, rotate, status, logout in-process', () => {
  it('a bad token at login or rotate never blames LOOPIQ_TOKEN when it is not set', async () => {
    const m = memoryIo(envFor(), new MemoryKeychains(), 'lqp_typo_token_value\n');
    const err = await login({ withToken: true }, m.io).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LoopIqError);
    expect((err as LoopIqError).describe()).toMatch(/did not accept this token \(unknown or revoked\); nothing was stored\. LoopIQ answered 401 unauthenticated: The token is not valid\.\nCheck that you copied the whole token and that it was made for http:\/\/127\.0\.0\.1:\d+/);
    expect((err as LoopIqError).describe()).not.toMatch(/LOOPIQ_TOKEN/);
    expect(m.keychains.tokens.size).toBe(0);

    const keychains = new MemoryKeychains();
    keychains.tokens.set(sandbox.url, 'lqp_revoked_elsewhere');
    const r = memoryIo(envFor(), keychains);
    const rot = (await rotate({}, r.io).catch((e: unknown) => e)) as LoopIqError;
    expect(rot.message).toMatch(/token in the OS keychain for http:\/\/127\.0\.0\.1:\d+ was not accepted .* nothing was changed/);
    expect(rot.hint).toBe('Log in again with a new token: `loopiq-mcp login`.');
    expect(rot.describe()).not.toMatch(/LOOPIQ_TOKEN/);
  });

  it('API strings are inert in login and status output (an escape sequence in an org name is shown, not run)', async () => {
    const fake = (await startSandbox()).fake;
    const s = await startSandbox({ fake });
    try {
      fake.orgs.find((o) => o.slug === 'initech')!.name = 'Initech\u001b[2J\u001b]0;owned\u0007';
      const env = { ...tempHome().env, LOOPIQ_API_URL: s.url };
      const keychains = new MemoryKeychains();
      const m = memoryIo(env, keychains, `${SANDBOX_TOKENS.sam}\n`);
      expect(await login({ withToken: true }, m.io)).toBe(0);
      expect(m.stdout()).toContain('Initech\\u{001B}[2J\\u{001B}]0;owned\\u{0007}');
      // eslint-disable-next-line no-control-regex -- ESC and BEL are what an injected terminal sequence needs; none may reach the terminal
      expect(m.stdout()).not.toMatch(/\u001b|\u0007/);
      const st = memoryIo(env, keychains);
      expect(await status({}, st.io)).toBe(0);
      expect(st.stdout()).toMatch(/Organization: Initech\\u\{001B\}\[2J/);
      expect(st.stdout()).not.toContain('\u001b');
      const list = memoryIo(env, keychains);
      expect(await orgs({}, list.io)).toBe(0);
      expect(list.stdout()).toMatch(/^\* initech +Initech\\u\{001B\}\[2J/m);
      // --json stays valid JSON that parses to the real name, with the escape written as \u001B.
      const js = memoryIo(env, keychains);
      expect(await orgs({ json: true }, js.io)).toBe(0);
      // eslint-disable-next-line no-control-regex -- ESC and BEL are what an injected terminal sequence needs; none may reach the terminal
      expect(js.stdout()).not.toMatch(/\u001b|\u0007/);
      expect((JSON.parse(js.stdout()) as { name: string }[])[0]!.name).toBe('Initech\u001b[2J\u001b]0;owned\u0007');
    } finally {
      await s.close();
    }
  });

  it('status after logout says "none (not logged in)", not "NOT VALID"; --json says present: false', async () => {
    const env = envFor();
    const keychains = new MemoryKeychains();
    expect(await login({ withToken: true }, memoryIo(env, keychains, sandbox.fake.issueToken('usr_sam')).io)).toBe(0);
    const out = memoryIo(env, keychains);
    expect(await logout({}, out.io)).toBe(0);
    expect(out.stdout()).toMatch(/token revoked and removed from the keychain/);
    const st = memoryIo(env, keychains);
    expect(await status({}, st.io)).toBe(1);
    expect(st.stdout()).toMatch(/^Token: +none \(not logged in\)$/m);
    expect(st.stdout()).not.toMatch(/NOT VALID/);
    const js = memoryIo(env, keychains);
    await status({ json: true }, js.io);
    expect((JSON.parse(js.stdout()) as { token: unknown }).token).toMatchObject({ present: false, valid: false });
  });

  it('status --org nope explains the flag, and does not suggest use-org (which cannot override it)', async () => {
    const m = memoryIo(envFor({ LOOPIQ_TOKEN: sandbox.fake.issueToken('usr_alex') }));
    expect(await status({ org: 'nope' }, m.io)).toBe(1);
    expect(m.stdout()).toMatch(/"nope" \(from --org\) is not one of your organizations\./);
    expect(m.stdout()).toMatch(/fix: Use --org with one of yours: acme, globex, umbrella\./);
    expect(m.stdout()).not.toMatch(/use-org/);
  });

  it('a token echoed back by a hostile API never reaches status --json or the error text', async () => {
    const server = createServer((req, res) => {
      res.writeHead(401, { 'content-type': 'application/problem+json' });
      res.end(JSON.stringify({ type: 'about:blank', title: 'Unauthorized', status: 401, code: 'unauthenticated', detail: `bad header ${req.headers.authorization}` }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const secret = 'lqp_echoed_by_hostile_api_1234';
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const m = memoryIo({ ...tempHome().env, LOOPIQ_API_URL: url, LOOPIQ_TOKEN: secret });
      expect(await status({ json: true }, m.io)).toBe(1);
      expect(m.stdout()).toContain('[REDACTED]');
      expect(m.stdout()).not.toContain(secret);
      const l = memoryIo({ ...tempHome().env, LOOPIQ_API_URL: url }, new MemoryKeychains(), `${secret}2\n`);
      const err = (await login({ withToken: true }, l.io).catch((e: unknown) => e)) as LoopIqError;
      const { describeFailure } = await import('../src/commands/failure.js');
      expect(describeFailure(err).text).not.toContain(`${secret}2`);
    } finally {
      server.close();
    }
  });

  it('a corrupt config file: login still stores the token (and says the org was not saved); doctor shows one FAIL line and goes on', async () => {
    const env = envFor();
    mkdirSync(env.LOOPIQ_CONFIG_DIR, { recursive: true });
    const path = join(env.LOOPIQ_CONFIG_DIR, 'config.json');
    writeFileSync(path, '{ "organisations": {} }');
    const keychains = new MemoryKeychains();
    const m = memoryIo(env, keychains, sandbox.fake.issueToken('usr_sam'));
    expect(await login({ withToken: true }, m.io)).toBe(0);
    expect(keychains.tokens.get(sandbox.url)).toMatch(/^lqp_/);
    expect(m.stderr()).toContain(`${path} is not valid: unknown key "organisations". The token was stored, but the organization choice was not saved.`);
    expect(readFileSync(path, 'utf8')).toBe('{ "organisations": {} }');

    const d = memoryIo(env, keychains);
    expect(await doctor({ json: true, selfTest: false }, d.io)).toBe(1);
    const { checks } = JSON.parse(d.stdout()) as DoctorJson;
    expect(checks.filter((c) => c.status === 'fail').map((c) => c.name)).toEqual(['config']);
    expect(checks.find((c) => c.name === 'config')!.detail).toContain('unknown key "organisations"');
    expect(checks.map((c) => c.name)).toEqual(expect.arrayContaining(['node', 'keychain', 'api', 'token', 'organization', 'confirmation']));
  });

  it('doctor on a fresh machine says to run install', async () => {
    const m = memoryIo(envFor({ LOOPIQ_TOKEN: sandbox.fake.issueToken('usr_sam') }));
    await doctor({ selfTest: false }, m.io);
    expect(m.stdout()).toMatch(/WARN +clients +loopiq is not registered in any AI client yet/);
    expect(m.stdout()).toMatch(/fix: Register it: loopiq-mcp install --client <claude-desktop\|cursor\|vscode\|claude-code\|windsurf>/);
  });
});

describe('the sandbox behaves like a service', () => {
  it('--port: invalid or in use is a message with a fix', async () => {
    await expect(sandboxCommand({ port: '80a' }, memoryIo({}).io)).rejects.toThrow('--port 80a: not a port number.');
    await expect(sandboxCommand({ port: '70000' }, memoryIo({}).io)).rejects.toThrow(/not a port number/);
    const port = Number(new URL(sandbox.url).port);
    const err = (await sandboxCommand({ port: String(port) }, memoryIo({}).io).catch((e: unknown) => e)) as LoopIqError;
    expect(err.message).toBe(`Port ${port} on 127.0.0.1 is already in use (another sandbox?).`);
    expect(err.hint).toMatch(/--port \d+/);
    const m = memoryIo({});
    const free = await startSandbox();
    const freePort = Number(new URL(free.url).port);
    await free.close();
    expect(await sandboxCommand({ port: String(freePort) }, m.io, Promise.resolve())).toBe(0);
    expect(m.stdout()).toMatch(/revoke a demo token like a real one; restart the sandbox to get them back/);
  });

  it('a revoked demo token says how to get it back', async () => {
    const s = await startSandbox();
    try {
      const env = { ...tempHome().env, LOOPIQ_API_URL: s.url };
      const keychains = new MemoryKeychains();
      expect(await login({ withToken: true }, memoryIo(env, keychains, SANDBOX_TOKENS.sam).io)).toBe(0);
      expect(await logout({}, memoryIo(env, keychains).io)).toBe(0);
      const err = (await login({ withToken: true }, memoryIo(env, keychains, SANDBOX_TOKENS.sam).io).catch((e: unknown) => e)) as LoopIqError;
      expect(err.message).toMatch(/restart the sandbox to restore the demo tokens/);
      expect(err.message).not.toMatch(/\.\./);
    } finally {
      await s.close();
    }
  });

  it('search matches words across records and controls ("access review")', async () => {
    const t = await connectInProcess({ org: 'acme' });
    try {
      const r = await t.call('loopiq_search', { query: 'access review' });
      expect(r.isError, r.content[0]?.text).toBeFalsy();
      const ids = JSON.stringify(r.structuredContent);
      expect(ids).toMatch(/wi_org_acme_6|wi_acme_6/);
      expect(ids).toMatch(/cert_/);
      const none = await t.call('loopiq_search', { query: 'access zebra' });
      expect(JSON.stringify(none.structuredContent)).not.toMatch(/wi_/);
    } finally {
      await t.close();
    }
  });

  it('an approval made by one `serve --sandbox` is executed by the next one (stable sandbox origin)', async () => {
    const home = tempHome();
    const env = baseEnv({ ...home.env, LOOPIQ_CONFIRM: 'terminal' });
    const first = await connectCli(['serve', '--sandbox'], env);
    const proposed = await first.client.callTool({ name: 'loopiq_create_work_item', arguments: { type: 'task', title: 'Survives restarts' } });
    const sc = proposed.structuredContent as { outcome: string; approvalId: string };
    expect(sc.outcome, JSON.stringify(proposed.content)).toBe('approval_required');
    await first.close();
    const pending = readFileSync(join(home.env.LOOPIQ_STATE_DIR, 'approvals', `${sc.approvalId}.json`), 'utf8');
    expect((JSON.parse(pending) as { apiOrigin: string }).apiOrigin).toBe(SANDBOX_ORIGIN);

    // The user approves in their own terminal (outside this client's process tree).
    const pty = await inHumanTerminal([process.execPath, CLI, 'approve', sc.approvalId], env, 'y');
    expect(pty.code, pty.text).toBe(0);

    const second = await connectCli(['serve', '--sandbox'], env);
    const done = await second.client.callTool({ name: 'loopiq_execute_approved_action', arguments: { approvalId: sc.approvalId } });
    expect(JSON.stringify(done.content)).not.toMatch(/another LoopIQ API/);
    expect(done.structuredContent).toMatchObject({ outcome: 'executed' });
    await second.close();
  });
});

describe('every path a message, never a trace (the built CLI)', () => {
  it('a mistyped command suggests the nearest one', async () => {
    const r = await runCli(['stauts'], baseEnv(tempHome().env));
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("error: unknown command 'stauts'. Did you mean 'status'?\nRun `loopiq-mcp --help` for the list of commands.\n");
  });

  it('the top-level --help has examples', async () => {
    const r = await runCli(['--help'], baseEnv(tempHome().env));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Examples:\n {2}\$ loopiq-mcp sandbox/);
    expect(r.stdout).toMatch(/\$ loopiq-mcp install --client claude-desktop/);
  });

  it('piping into a reader that closes early (EPIPE) ends quietly', async () => {
    const env = baseEnv({ ...tempHome().env, LOOPIQ_API_URL: sandbox.url, LOOPIQ_TOKEN: sandbox.fake.issueToken('usr_alex') });
    const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn('bash', ['-c', `${process.execPath} ${CLI} orgs --json | head -c 1 >/dev/null; exit \${PIPESTATUS[0]}`], { env });
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      child.on('close', (code) => { resolve({ code, stderr }); });
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const help = await new Promise<string>((resolve) => {
      const child = spawn('bash', ['-c', `for i in 1 2 3 4 5 6 7 8; do ${process.execPath} ${CLI} install --help; done | head -n 1`], { env });
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      child.on('close', () => { resolve(stderr); });
    });
    expect(help).not.toMatch(/EPIPE|Error/);
  });

  it('install --config-path <directory>, sandbox --port in use, a malformed LOOPIQ_LOG_LEVEL, a corrupt audit line: messages, no traces', async () => {
    const home = tempHome();
    const env = baseEnv(home.env);
    mkdirSync(join(home.dir, 'cfgdir'));
    const dir = await runCli(['install', '--client', 'cursor', '--config-path', join(home.dir, 'cfgdir')], env);
    expect(dir.code).toBe(1);
    expect(dir.stderr).toMatch(/cfgdir is a directory, not a config file\.\nGive the file itself, e\.g\. --config-path .*cfgdir\/mcp\.json/);

    const port = new URL(sandbox.url).port;
    const inUse = await runCli(['sandbox', '--port', port], env);
    expect(inUse.code).toBe(1);
    expect(inUse.stderr).toMatch(new RegExp(`error: Port ${port} on 127\\.0\\.0\\.1 is already in use`));
    const bad = await runCli(['sandbox', '--port', 'http'], env);
    expect(bad.stderr).toBe('error: --port http: not a port number.\nUse a number from 1 to 65535, e.g. --port 8787.\n');

    const level = await runCli(['status'], { ...env, LOOPIQ_LOG_LEVEL: 'verbose' });
    expect(level.code).toBe(1);
    expect(level.stderr).toMatch(/^error: LOOPIQ_LOG_LEVEL=verbose: unknown level\.\nUse one of: debug, info, warn, error, silent/);

    const confirm = await runCli(['serve'], { ...env, LOOPIQ_CONFIRM: 'sms' });
    expect(confirm.code).toBe(1);
    expect(confirm.stderr).toMatch(/^error: LOOPIQ_CONFIRM=sms: unknown channel sms\./);

    mkdirSync(home.env.LOOPIQ_STATE_DIR, { recursive: true });
    writeFileSync(join(home.env.LOOPIQ_STATE_DIR, 'audit.jsonl'), '{"time": "2026-01-01", broken\n');
    const audit = await runCli(['audit'], env);
    expect(audit.code).toBe(1);
    expect(audit.stderr).toMatch(/^error: /);
    for (const r of [dir, inUse, bad, level, confirm, audit]) expect(r.stderr).not.toMatch(STACK);
  });

  it('serve in a terminal says what it is and how to register it, on stderr, and keeps serving', async () => {
    const env = baseEnv(tempHome().env);
    let sent = false;
    let done = false;
    const init = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'tty', version: '0' } } });
    const r = await inPty(`${process.execPath} ${CLI} serve --sandbox 2>&1`, env, (out, write) => {
      if (!sent && out.includes('loopiq-mcp install --client')) {
        sent = true;
        write(`${init}\n`);
      }
      if (!done && /"serverInfo"/.test(out)) {
        done = true;
        write('\u0004');
      }
    });
    expect(r.output).toMatch(/this is the MCP server that AI clients start themselves/);
    expect(r.output).toMatch(/loopiq-mcp install --client claude-desktop/);
    expect(r.output).toMatch(/"serverInfo":\{"name":"loopiq/);
  });
});

describe('install registers what the user is using; doctor checks what each entry will do', () => {
  it('LOOPIQ_API_URL goes into the entry; doctor launches it as the client would and reports origin, token and org', async () => {
    const u = cliUser(sandbox.url);
    expect((await u.cli(['login', '--with-token'], sandbox.fake.issueToken('usr_alex'))).code).toBe(0);
    expect((await u.cli(['use-org', 'globex'])).code).toBe(0);
    const inst = await u.cli(['install', '--client', 'claude-code']);
    expect(inst.code, inst.stderr).toBe(0);
    expect(inst.stdout).toMatch(/The registered server will use:\n {2}API: +http:\/\/127\.0\.0\.1:\d+ \(from your environment\)/);
    const entry = (JSON.parse(readFileSync(join(u.home.dir, '.claude.json'), 'utf8')) as ClaudeJson).mcpServers.loopiq!;
    expect(entry.args.slice(1)).toEqual(['serve', '--api-url', sandbox.url]);

    const ok = await u.cli(['doctor', '--json', '--no-self-test']);
    const launch = (JSON.parse(ok.stdout) as DoctorJson).checks.find((c) => c.name === 'client:claude-code:launch');
    expect(launch).toMatchObject({ status: 'ok' });
    expect(launch!.detail).toBe(`will use ${sandbox.url}; token from keychain valid; org globex`);

    // The same entry without the URL (as before this fix) would talk to another API with no token there.
    const other = await startSandbox();
    try {
      const cfg = join(u.home.dir, '.claude.json');
      const data = JSON.parse(readFileSync(cfg, 'utf8')) as ClaudeJson;
      const loopiq = data.mcpServers.loopiq!;
      loopiq.args = [entry.args[0]!, 'serve', '--api-url', other.url];
      loopiq.env = { ...loopiq.env, DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/bus' };
      writeFileSync(cfg, JSON.stringify(data));
      const bad = await u.cli(['doctor', '--json', '--no-self-test']);
      expect(bad.code).toBe(1);
      const { checks } = JSON.parse(bad.stdout) as DoctorJson;
      expect(checks.find((c) => c.name === 'client:claude-code:dbus')).toMatchObject({ status: 'fail' });
      expect(checks.find((c) => c.name === 'client:claude-code:dbus')!.detail).toMatch(/unix:path=\/nonexistent\/bus, which no longer exists/);
      const l = checks.find((c) => c.name === 'client:claude-code:launch')!;
      expect(l.status).toBe('fail');
      expect(l.detail).toMatch(new RegExp(`^will use ${other.url.replace(/[.]/g, '\\.')};`));
    } finally {
      await other.close();
    }
  });

  it('install --client claude-code honours CLAUDE_CONFIG_DIR', async () => {
    const home = tempHome();
    const dir = join(home.dir, '.claude-work');
    const r = await runCli(['install', '--client', 'claude-code'], baseEnv({ ...home.env, CLAUDE_CONFIG_DIR: dir }));
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(dir, '.claude.json'))).toBe(true);
    expect(existsSync(join(home.dir, '.claude.json'))).toBe(false);
  });

  it('install refuses an API URL that is not exactly loopback over http', async () => {
    const r = await runCli(['install', '--client', 'cursor', '--api-url', 'http://127.0.0.1.nip.io'], baseEnv(tempHome().env));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: --api-url: http:\/\/127\.0\.0\.1\.nip\.io is not https/);
  });
});

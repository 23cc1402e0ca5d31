import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { api, type Me } from '../api/contract.js';
import { toLoopIqError } from '../api/errors.js';
import { CLIENT_IDS, CLIENTS, ENTRY_NAME, type ServerEntry } from '../clients/clients.js';
import { parseClientConfig } from '../clients/config-edit.js';
import { createDispatcher, loadUndici } from '../api/client.js';
import type { GlobalFlags } from '../config/settings.js';
import { dialogCommand, findExecutable } from '../gate/channels/dialog.js';
import { orgSelection } from '../server/org-scope.js';
import { judgeOrg } from '../config/org-choice.js';
import { inert } from '../util/inert.js';
import { launchAsClient } from './doctor-launch.js';
import { Keychain } from '../auth/keychain.js';
import { RecordingStdioTransport } from '../util/stdio-probe.js';
import { VERSION } from '../version.js';
import { commandContext, formatExpiry, processIo, type Io } from './context.js';
import { cliScriptPath } from './install.js';

export interface Check {
  name: string;
  status: 'ok' | 'warn' | 'fail';
  detail: string;
  fix?: string;
}

const SECRET = /(lqp_[A-Za-z0-9_-]{8,}|Bearer\s+\S+|LOOPIQ_TOKEN)/;

/** Checks everything a launch needs and says what to fix. Exit 1 on any failure. */
export async function doctor(opts: GlobalFlags & { json?: boolean; selfTest?: boolean; mcpUrl?: string }, io: Io = processIo()): Promise<number> {
  // A corrupt config file is one FAIL line; every other check still runs.
  const ctx = await commandContext(opts, io, { tolerateConfigError: true });
  const env = io.env;
  const checks: Check[] = [];
  // Upstream mode (DESIGN.md §3b): the token is stored for the hosted endpoint's origin, which is checked instead of the REST API.
  const upstream = await import('./upstream-identity.js');
  const hosted = await upstream.upstreamUrl(opts, env, ctx.settings);
  const keychain = hosted ? new Keychain(hosted.origin, env) : ctx.keychain;
  const tokenOrigin = hosted ? hosted.origin : ctx.settings.apiOrigin;
  const add = (c: Check) => checks.push(c);
  if (ctx.settings.configError) add({ name: 'config', status: 'fail', detail: ctx.settings.configError.message, fix: ctx.settings.configError.hint });
  else add({ name: 'config', status: 'ok', detail: `${ctx.settings.config.path}; API ${ctx.settings.apiUrl} (${ctx.settings.apiUrlSource})` });

  // Node and the CLI
  const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];
  add(
    major > 20 || (major === 20 && minor >= 19)
      ? { name: 'node', status: 'ok', detail: `${process.version} at ${process.execPath}` }
      : { name: 'node', status: 'fail', detail: `${process.version} at ${process.execPath} is too old`, fix: 'Install Node.js 20.19 or newer, then run `loopiq-mcp install --client …` again.' },
  );
  const script = cliScriptPath();
  add({ name: 'cli', status: script.includes('_npx') ? 'warn' : 'ok', detail: `loopiq-mcp ${VERSION} at ${script}`, ...(script.includes('_npx') ? { fix: 'Running from the npx cache: install with `npm i -g loopiq-mcp` so client configs point at a stable path.' } : {}) });

  // Client configs
  let registered = 0;
  for (const id of CLIENT_IDS) {
    const spec = CLIENTS[id];
    const path = spec.configPath(env, process.platform);
    if (!existsSync(path)) continue;
    let data: Record<string, unknown>;
    try {
      data = parseClientConfig(path, readFileSync(path, 'utf8'), spec.jsonc);
    } catch (err) {
      add({ name: `client:${id}`, status: 'fail', detail: toLoopIqError(err).message, fix: `Fix the syntax error in ${path}; ${spec.name} cannot load any server until then.` });
      continue;
    }
    const servers = data[spec.key];
    const raw = servers && typeof servers === 'object' ? (servers as Record<string, unknown>)[ENTRY_NAME] : undefined;
    const entry = foundEntry(raw);
    if (!entry) {
      add({ name: `client:${id}`, status: 'ok', detail: `${path}: valid, loopiq not registered`, fix: `To use it there: loopiq-mcp install --client ${id}` });
      continue;
    }
    registered++;
    const problems: string[] = [];
    if (!executable(entry.command)) problems.push(`command ${entry.command ? inert(entry.command) : '(none)'} does not exist or is not executable`);
    if (process.platform === 'win32' && /\s/.test(entry.command)) problems.push(`command ${entry.command} contains a space, which Claude Desktop cannot start`);
    const scriptArg = entry.args[0];
    if (!scriptArg || !existsSync(scriptArg)) problems.push(`script ${scriptArg === undefined ? '(none)' : inert(scriptArg)} does not exist`);
    const secret = SECRET.test(JSON.stringify(raw));
    if (problems.length) add({ name: `client:${id}`, status: 'fail', detail: `${path}: ${problems.join('; ')}`, fix: `Run \`loopiq-mcp install --client ${id}\` to re-register with this node and script.` });
    else add({ name: `client:${id}`, status: 'ok', detail: `${path}: loopiq → ${inert(entry.command)} ${entry.args.map((a) => inert(a)).join(' ')}` });
    if (secret) add({ name: `client:${id}:secrets`, status: 'warn', detail: `${path}: the loopiq entry contains what looks like a token`, fix: 'Remove it from the config (the token belongs in the keychain: `loopiq-mcp login`), then rotate it: `loopiq-mcp rotate`.' });
    if (!problems.length) for (const c of await launchAsClient(id, entry, env)) add(c);
  }
  if (registered === 0) {
    add({ name: 'clients', status: 'warn', detail: 'loopiq is not registered in any AI client yet', fix: `Register it: loopiq-mcp install --client <${CLIENT_IDS.join('|')}>` });
  }

  // Keychain
  if (env.LOOPIQ_TOKEN) {
    add({ name: 'token-source', status: 'warn', detail: 'LOOPIQ_TOKEN is set and overrides the keychain', fix: 'Unset it unless this is a headless or CI machine.' });
  }
  const kStart = performance.now();
  let stored: string | null = null;
  try {
    stored = await keychain.get();
    const ms = Math.round(performance.now() - kStart);
    add({ name: 'keychain', status: stored || env.LOOPIQ_TOKEN ? 'ok' : 'fail', detail: stored ? `token for ${tokenOrigin} found (${ms} ms)` : `no token for ${tokenOrigin} (${ms} ms): not logged in, or the keyring is locked`, ...(stored || env.LOOPIQ_TOKEN ? {} : { fix: 'Run `loopiq-mcp login`.' }) });
  } catch (err) {
    const e = toLoopIqError(err);
    add({ name: 'keychain', status: env.LOOPIQ_TOKEN ? 'warn' : 'fail', detail: e.message, fix: e.hint });
  }

  // Network: proxy, CA, reachability
  const proxy = env.HTTPS_PROXY || env.https_proxy || env.HTTP_PROXY || env.http_proxy;
  add({ name: 'proxy', status: 'ok', detail: proxy ? `requests go through ${redactUrl(proxy)}${env.NO_PROXY || env.no_proxy ? ` (NO_PROXY=${env.NO_PROXY || env.no_proxy})` : ''}` : 'no HTTP(S)_PROXY set; direct connection' });
  const ca = env.NODE_EXTRA_CA_CERTS;
  if (ca) add(existsSync(ca) ? { name: 'ca', status: 'ok', detail: `NODE_EXTRA_CA_CERTS=${ca}` } : { name: 'ca', status: 'fail', detail: `NODE_EXTRA_CA_CERTS=${ca} does not exist`, fix: 'Point NODE_EXTRA_CA_CERTS at your corporate CA bundle (PEM), or unset it.' });
  const reach: Check = hosted ? { name: 'api', status: 'ok', detail: `hosted MCP endpoint mode: ${hosted.href}` } : await reachable(ctx.settings.apiUrl, env);
  add(reach);
  if (hosted && (stored || env.LOOPIQ_TOKEN)) for (const c of await upstream.hostedDoctorChecks(hosted, opts, io)) add(c);

  // Token and organization
  let me: Me | undefined;
  if (!hosted && reach.status !== 'fail' && (stored || env.LOOPIQ_TOKEN)) {
    const client = ctx.api();
    try {
      me = await client.call(api.me());
      const exp = formatExpiry(me.token.expiresAt);
      add({
        name: 'token',
        status: exp.days !== null && exp.days < 7 ? 'warn' : 'ok',
        detail: `${inert(me.user.email)}; "${inert(me.token.name)}" ${exp.text}; scopes: ${inert(me.token.scopes.join(', ')) || 'none'}`,
        ...(exp.days !== null && exp.days < 7 ? { fix: 'Run `loopiq-mcp rotate` soon.' } : {}),
      });
    } catch (err) {
      const e = toLoopIqError(err);
      add({ name: 'token', status: 'fail', detail: inert(e.message), fix: e.hint });
    } finally {
      await client.close();
    }
  }
  if (me) {
    const verdict = judgeOrg(me.organizations, await orgSelection(ctx.settings).catch(() => undefined));
    if (verdict.usable && verdict.org) add({ name: 'organization', status: 'ok', detail: `${inert(verdict.org.name)} (${inert(verdict.org.slug)}, ${inert(verdict.org.id)}), role ${inert(verdict.org.role)}` });
    else add({ name: 'organization', status: 'fail', detail: verdict.problem ?? 'not usable', ...(verdict.fix ? { fix: verdict.fix } : {}) });
  }

  // Confirmation channels available here
  const dialog = dialogCommand('t', 't', 1, env);
  add({
    name: 'confirmation',
    status: 'ok',
    detail: `elicitation: if the client supports it; dialog: ${dialog ? `available (${dialog.command})` : `not available (${process.platform === 'linux' ? (env.DISPLAY || env.WAYLAND_DISPLAY ? 'no zenity or kdialog' : 'no display') : 'no dialog tool'})`}; terminal: always (\`loopiq-mcp approve\`)`,
  });

  // Self-test: the real server, started the way a client starts it
  if (opts.selfTest !== false) add(await selfTest(script, hosted && opts.mcpUrl ? { ...env, LOOPIQ_MCP_URL: hosted.href } : env));

  const failed = checks.filter((c) => c.status === 'fail').length;
  if (opts.json) ctx.json({ ok: failed === 0, checks });
  else {
    for (const c of checks) {
      ctx.print(`${c.status === 'ok' ? 'ok  ' : c.status === 'warn' ? 'WARN' : 'FAIL'}  ${c.name.padEnd(22)} ${c.detail}`);
      if (c.fix && c.status !== 'ok') ctx.print(`      ${''.padEnd(22)} fix: ${c.fix}`);
    }
    ctx.print(failed ? `\n${failed} check(s) failed.` : '\nAll checks passed.');
  }
  return failed ? 1 : 0;
}

/**
 * The loopiq entry of a client config, which a user may have edited by hand: a command that is not
 * text counts as none, arguments as text, env keeps only text values. Undefined when absent.
 */
export function foundEntry(raw: unknown): ServerEntry | undefined {
  if (!raw) return undefined;
  const o: Partial<Record<string, unknown>> = typeof raw === 'object' ? { ...raw } : {};
  const env = o.env && typeof o.env === 'object' ? Object.fromEntries(Object.entries(o.env).filter((kv): kv is [string, string] => typeof kv[1] === 'string')) : undefined;
  return {
    ...o,
    command: typeof o.command === 'string' ? o.command : '',
    args: Array.isArray(o.args) ? o.args.map(String) : [],
    ...(env ? { env } : {}),
  };
}

function executable(path: string | undefined): boolean {
  if (!path) return false;
  try {
    accessSync(path.includes('/') || path.includes('\\') ? path : (findExecutable(path, process.env) ?? path), constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function redactUrl(u: string) {
  try {
    const url = new URL(u);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return u;
  }
}

async function reachable(apiUrl: string, env: NodeJS.ProcessEnv): Promise<Check> {
  const [{ request }, dispatcher] = await Promise.all([loadUndici(), createDispatcher(env)]);
  const started = performance.now();
  try {
    const res = await request(`${apiUrl}/api/v1/me`, { dispatcher, signal: AbortSignal.timeout(10_000), headers: { 'user-agent': `loopiq-mcp/${VERSION} doctor` } });
    await res.body.dump();
    const ms = Math.round(performance.now() - started);
    return res.statusCode === 401 || res.statusCode < 300
      ? { name: 'api', status: 'ok', detail: `${apiUrl} answered in ${ms} ms` }
      : { name: 'api', status: 'fail', detail: `${apiUrl} answered HTTP ${res.statusCode} (${ms} ms), not the LoopIQ API`, fix: 'Check --api-url / LOOPIQ_API_URL and your proxy.' };
  } catch (err) {
    const e = err as { code?: string; cause?: { code?: string }; message?: string; name?: string };
    const code = e.code ?? e.cause?.code ?? e.name ?? 'error';
    const why = /ENOTFOUND|EAI_AGAIN/.test(code)
      ? 'DNS lookup failed'
      : /CERT|SSL|TLS|SELF_SIGNED/.test(code)
        ? 'TLS certificate not trusted'
        : /ECONNREFUSED/.test(code)
          ? 'connection refused'
          : /Timeout|TIMEOUT/.test(code)
            ? 'timed out'
            : 'network error';
    const fix = why === 'TLS certificate not trusted' ? 'Behind a TLS-inspecting proxy? Set NODE_EXTRA_CA_CERTS to your corporate CA bundle.' : 'Check the URL, your network and HTTPS_PROXY / NO_PROXY.';
    return { name: 'api', status: 'fail', detail: `${apiUrl}: ${why} (${code})`, fix };
  } finally {
    await dispatcher.close().catch(() => {});
  }
}

async function selfTest(script: string, env: NodeJS.ProcessEnv): Promise<Check> {
  const started = performance.now();
  const childEnv = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined)) as Record<string, string>;
  const transport = new RecordingStdioTransport(process.execPath, [script, 'serve'], childEnv);
  const client = new Client({ name: 'loopiq-mcp-doctor', version: VERSION });
  try {
    await client.connect(transport, { timeout: 10_000 });
    const { tools } = await client.listTools(undefined, { timeout: 10_000 });
    await client.close();
    const stray = transport.nonJsonRpcStdout();
    const ms = Math.round(performance.now() - started);
    if (stray.length) return { name: 'self-test', status: 'fail', detail: `stdout carried non-JSON-RPC output: ${JSON.stringify(stray[0]).slice(0, 120)}`, fix: 'Report this bug; a client would drop the connection.' };
    return { name: 'self-test', status: 'ok', detail: `serve started, initialized and listed ${tools.length} tools in ${ms} ms; stdout was JSON-RPC only` };
  } catch (err) {
    await transport.close().catch(() => {});
    return { name: 'self-test', status: 'fail', detail: `serve did not start: ${err instanceof Error ? err.message : String(err)}; stderr: ${transport.stderr.trim().split('\n').at(-1) ?? ''}`, fix: 'Run `loopiq-mcp serve` in a terminal to see the error.' };
  }
}

/**
 * `doctor` starts each registered entry the way its client would — the entry's own command, args
 * and env on top of the small environment clients pass (the SDK's getDefaultEnvironment) — and
 * asks that process what its server would do: which API, whether a token is there for it, which
 * organization, whether the keychain answers with that environment.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { ServerEntry } from '../clients/clients.js';
import { inert } from '../util/inert.js';
import { secureUrl } from '../util/loopback.js';
import type { Check } from './doctor.js';
import type { StatusReport } from './status.js';

/** What the MCP SDK's StdioClientTransport passes on by default (research/mcp-clients.md). */
const CLIENT_ENV = process.platform === 'win32'
  ? ['APPDATA', 'HOMEDRIVE', 'HOMEPATH', 'LOCALAPPDATA', 'PATH', 'PROCESSOR_ARCHITECTURE', 'SYSTEMDRIVE', 'SYSTEMROOT', 'TEMP', 'USERNAME', 'USERPROFILE', 'PROGRAMFILES']
  : ['HOME', 'LOGNAME', 'PATH', 'SHELL', 'TERM', 'USER'];

/** The serve flags that change what `status` reports; the rest (tool filters) do not. */
const KEPT_FLAGS = new Map([['--api-url', 1], ['--org', 1], ['--read-only', 0]]);

export function statusArgsFor(entry: ServerEntry): { args: string[]; sandbox: boolean } | undefined {
  const [script, verb, ...rest] = entry.args;
  if (!script || verb !== 'serve') return undefined;
  const out = [script, 'status', '--json'];
  let sandbox = false;
  for (let a = rest.shift(); a !== undefined; a = rest.shift()) {
    if (a === '--sandbox') sandbox = true;
    const [name, inline] = a.split(/=(.*)/s) as [string, string | undefined];
    const arity = KEPT_FLAGS.get(name);
    if (arity === undefined) continue;
    if (inline !== undefined || arity === 0) out.push(a);
    else {
      const value = rest.shift();
      if (value !== undefined) out.push(a, value);
    }
  }
  return { args: out, sandbox };
}

export function clientEnv(entry: ServerEntry, from: NodeJS.ProcessEnv): Record<string, string> {
  const env: Record<string, string> = {};
  for (const k of CLIENT_ENV) if (from[k]) env[k] = from[k];
  return { ...env, ...(entry.env ?? {}) };
}

/** A session bus written into the entry that no longer exists (a new login session moved it). */
export function staleBus(entry: ServerEntry): string | undefined {
  const addr = entry.env?.DBUS_SESSION_BUS_ADDRESS;
  const path = addr && /^unix:path=([^,]+)/.exec(addr)?.[1];
  return path && !existsSync(path) ? addr : undefined;
}

export async function launchAsClient(id: string, entry: ServerEntry, from: NodeJS.ProcessEnv): Promise<Check[]> {
  const name = `client:${id}:launch`;
  const checks: Check[] = [];
  const stale = staleBus(entry);
  if (stale) {
    checks.push({ name: `client:${id}:dbus`, status: 'fail', detail: `the entry sets DBUS_SESSION_BUS_ADDRESS=${stale}, which no longer exists: the server cannot reach the keychain`, fix: `Run \`loopiq-mcp install --client ${id}\` again from your desktop session.` });
  }
  const urlArg = entry.args[entry.args.indexOf('--api-url') + 1];
  if (entry.args.includes('--api-url') && urlArg !== undefined) {
    try {
      secureUrl(urlArg, '--api-url in the entry');
    } catch (err) {
      checks.push({ name, status: 'fail', detail: (err as Error).message, fix: `Run \`loopiq-mcp install --client ${id} --api-url https://…\` again.` });
      return checks;
    }
  }
  const plan = statusArgsFor(entry);
  if (!plan) {
    checks.push({ name, status: 'warn', detail: `the entry does not run \`loopiq-mcp serve\` (${inert(entry.args.join(' '))}); cannot tell what it will do`, fix: `Run \`loopiq-mcp install --client ${id}\` to register the standard entry.` });
    return checks;
  }
  if (plan.sandbox) {
    checks.push({ name, status: 'ok', detail: 'serves the built-in sandbox (demo data; no token needed)' });
    return checks;
  }
  const r = await run(entry.command, plan.args, clientEnv(entry, from));
  let report: StatusReport | undefined;
  try {
    report = JSON.parse(r.stdout) as StatusReport;
  } catch {
    const why = inert(r.stderr.trim().split('\n')[0] ?? '') || `exit code ${r.code}`;
    checks.push({ name, status: 'fail', detail: `started as ${id} would start it, it failed: ${why}`, fix: `Run \`loopiq-mcp install --client ${id}\` again, then \`loopiq-mcp doctor\`.` });
    return checks;
  }
  const t = report.token;
  const token = !t.present ? `no token for it${t.source === 'keychain' ? ' in the keychain (as that environment sees it)' : ''}` : t.valid ? `token from ${t.source} valid` : `token from ${t.source} NOT valid`;
  const org = report.organization.selected ? `org ${inert(report.organization.selected.slug)}` : 'no usable org';
  const detail = `will use ${inert(report.apiUrl)}${report.readOnly ? ' (read-only)' : ''}; ${token}; ${org}`;
  if (report.ok) checks.push({ name, status: 'ok', detail });
  else {
    const fix = !t.present
      ? `Log in for that API: \`loopiq-mcp login --api-url ${report.apiUrl}\` (or re-register with the API you use: \`loopiq-mcp install --client ${id} --api-url …\`).`
      : !t.valid
        ? 'Run `loopiq-mcp login` again.'
        : (report.organization.fix ?? 'Run `loopiq-mcp use-org <id|slug>`.');
    checks.push({ name, status: 'fail', detail: `${detail}${t.problem && t.present ? `: ${inert(t.problem.split('\n')[0] ?? '')}` : report.organization.problem ? `: ${report.organization.problem}` : ''}`, fix });
  }
  return checks;
}

function run(command: string, args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let child;
    try {
      child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      resolve({ code: null, stdout, stderr: (err as Error).message });
      return;
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ code: null, stdout, stderr: err.message });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

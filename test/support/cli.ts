import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { ClientCapabilities } from '@modelcontextprotocol/sdk/types.js';
import { RecordingStdioTransport } from '../../src/util/stdio-probe.js';

export const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

/** A fresh, private config + state dir for one test. */
export function tempHome() {
  const dir = mkdtempSync(join(tmpdir(), 'loopiq-test-'));
  return { dir, env: { LOOPIQ_CONFIG_DIR: join(dir, 'config'), LOOPIQ_STATE_DIR: join(dir, 'state'), HOME: dir } };
}

/** The environment a desktop client passes, plus the private keyring's bus and the test's own. */
export function baseEnv(extra: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string | undefined> = {
    PATH: process.env.PATH,
    DBUS_SESSION_BUS_ADDRESS: process.env.DBUS_SESSION_BUS_ADDRESS,
    LOOPIQ_KEYCHAIN_SERVICE: 'loopiq-mcp-test',
    LOOPIQ_LOG_LEVEL: 'info',
    ...extra,
  };
  return Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined)) as Record<string, string>;
}

export async function connectCli(args: string[], env: Record<string, string>, capabilities: ClientCapabilities = {}) {
  const transport = new RecordingStdioTransport(process.execPath, [CLI, ...args], env);
  const client = new Client({ name: 'loopiq-test', version: '1.2.3' }, { capabilities });
  await client.connect(transport);
  return { client, transport, close: () => client.close() };
}

/** Runs a CLI command to completion (async: the sandbox may live in this same process). */
export function runCli(args: string[], env: Record<string, string>, input?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input ?? '');
  });
}

/**
 * A user of the CLI against `apiUrl`: a private keychain service and config dir, so nothing is
 * shared between tests and nothing real is touched. Every command's output is kept in `outputs`.
 */
export function cliUser(apiUrl: string) {
  const home = tempHome();
  const env = baseEnv({ ...home.env, LOOPIQ_API_URL: apiUrl, LOOPIQ_KEYCHAIN_SERVICE: `loopiq-mcp-test-${randomUUID()}` });
  const outputs: string[] = [];
  const cli = async (args: string[], input?: string, extraEnv: Record<string, string> = {}) => {
    const r = await runCli(args, { ...env, ...extraEnv }, input);
    outputs.push(r.stdout, r.stderr);
    return r;
  };
  return { home, env, cli, outputs };
}

/** Waits for an event, generously; never a timing assertion. */
export async function until(what: string, ok: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

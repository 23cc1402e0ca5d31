import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ReadBuffer, serializeMessage } from '@modelcontextprotocol/sdk/shared/stdio.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { ClientCapabilities, JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

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

/**
 * Stdio transport that records every raw stdout line, so tests can prove stdout carried
 * JSON-RPC and nothing else.
 */
export class RecordingStdioTransport implements Transport {
  child!: ChildProcessWithoutNullStreams;
  readonly stdoutLines: string[] = [];
  stderr = '';
  private buffer = new ReadBuffer();
  private partial = '';
  onmessage?: (m: JSONRPCMessage) => void;
  onclose?: () => void;
  onerror?: (e: Error) => void;

  constructor(
    private readonly args: string[],
    private readonly env: Record<string, string>,
  ) {}

  async start() {
    this.child = spawn(process.execPath, [CLI, ...this.args], { env: this.env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout.on('data', (chunk: Buffer) => {
      const text = this.partial + chunk.toString('utf8');
      const lines = text.split('\n');
      this.partial = lines.pop() ?? '';
      this.stdoutLines.push(...lines);
      this.buffer.append(chunk);
      for (let m = this.buffer.readMessage(); m; m = this.buffer.readMessage()) this.onmessage?.(m);
    });
    this.child.stderr.on('data', (c: Buffer) => (this.stderr += c.toString('utf8')));
    this.child.on('close', () => this.onclose?.());
    this.child.on('error', (e) => this.onerror?.(e));
  }

  async send(message: JSONRPCMessage) {
    this.child.stdin.write(serializeMessage(message));
  }

  async close() {
    this.child.stdin.end();
    await new Promise<void>((resolve) => {
      if (this.child.exitCode !== null) return resolve();
      const t = setTimeout(() => this.child.kill('SIGKILL'), 3_000);
      this.child.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /** Every stdout line must be a JSON-RPC 2.0 message. */
  nonJsonRpcStdout(): string[] {
    const all = [...this.stdoutLines, ...(this.partial ? [this.partial] : [])];
    return all.filter((l) => {
      try {
        return (JSON.parse(l) as { jsonrpc?: string }).jsonrpc !== '2.0';
      } catch {
        return true;
      }
    });
  }
}

export async function connectCli(args: string[], env: Record<string, string>, capabilities: ClientCapabilities = {}) {
  const transport = new RecordingStdioTransport(args, env);
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

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { ReadBuffer, serializeMessage } from '@modelcontextprotocol/sdk/shared/stdio.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

/**
 * A stdio client transport that keeps every raw stdout line, to prove a server's stdout carried
 * JSON-RPC and nothing else (`doctor`'s self-test and the end-to-end tests).
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
    private readonly command: string,
    private readonly args: string[],
    private readonly env: Record<string, string>,
  ) {}

  start(): Promise<void> {
    this.child = spawn(this.command, this.args, { env: this.env, stdio: ['pipe', 'pipe', 'pipe'], shell: false });
    this.child.stdout.on('data', (chunk: Buffer) => {
      const lines = (this.partial + chunk.toString('utf8')).split('\n');
      this.partial = lines.pop() ?? '';
      this.stdoutLines.push(...lines);
      this.buffer.append(chunk);
      try {
        for (let m = this.buffer.readMessage(); m; m = this.buffer.readMessage()) this.onmessage?.(m);
      } catch (e) {
        this.onerror?.(e as Error);
      }
    });
    this.child.stderr.on('data', (c: Buffer) => (this.stderr += c.toString('utf8')));
    this.child.on('close', () => this.onclose?.());
    this.child.on('error', (e) => this.onerror?.(e));
    this.child.stdin.on('error', () => {});
    return Promise.resolve();
  }

  send(message: JSONRPCMessage): Promise<void> {
    this.child.stdin.write(serializeMessage(message));
    return Promise.resolve();
  }

  async close() {
    this.child.stdin.end();
    await new Promise<void>((resolve) => {
      if (this.child.exitCode !== null || this.child.signalCode !== null) { resolve(); return; }
      const t = setTimeout(() => this.child.kill('SIGKILL'), 3_000);
      this.child.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /** Stdout lines that are not JSON-RPC 2.0 messages (should be none). */
  nonJsonRpcStdout(): string[] {
    return [...this.stdoutLines, ...(this.partial ? [this.partial] : [])].filter((l) => {
      try {
        return (JSON.parse(l) as { jsonrpc?: string }).jsonrpc !== '2.0';
      } catch {
        return true;
      }
    });
  }
}

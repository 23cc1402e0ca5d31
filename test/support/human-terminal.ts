import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A human's own terminal: a tmux pane whose server is not a descendant of the test process (the
 * MCP client), as a terminal emulator is not a descendant of the AI client. The test types with
 * send-keys, and reads every byte the program wrote to the pty (pipe-pane).
 */
export async function inHumanTerminal(command: string[], env: Record<string, string>, answer: string, timeoutMs = 20_000): Promise<{ code: number | null; bytes: Buffer; text: string }> {
  const socket = `loopiq-test-${randomUUID().slice(0, 8)}`;
  const dir = mkdtempSync(join(tmpdir(), 'human-tty-'));
  const out = join(dir, 'pty-bytes');
  const tmux = (...args: string[]) => spawnSync('tmux', ['-L', socket, '-f', '/dev/null', ...args], { env, encoding: 'utf8' });
  const quoted = command.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  // Waits for a go (so pipe-pane is attached before the first byte), then reports its exit code.
  const started = tmux('new-session', '-d', '-x', '250', '-y', '60', `read _go; ${quoted}; echo "__EXIT__$?"; sleep 30`);
  if (started.status !== 0) throw new Error(`tmux failed: ${started.stderr}`);
  try {
    tmux('pipe-pane', '-o', `cat > '${out}'`);
    tmux('send-keys', 'Enter');
    const read = () => {
      try {
        return readFileSync(out);
      } catch {
        return Buffer.alloc(0);
      }
    };
    const until = async (re: RegExp) => {
      const end = Date.now() + timeoutMs;
      while (Date.now() < end) {
        if (re.test(read().toString('utf8'))) return true;
        await new Promise((r) => setTimeout(r, 50));
      }
      return false;
    };
    if (await until(/\[y\/N\] |__EXIT__/)) {
      if (!/__EXIT__/.test(read().toString('utf8'))) {
        tmux('send-keys', '-l', answer);
        tmux('send-keys', 'Enter');
      }
    }
    await until(/__EXIT__\d+/);
    const bytes = read();
    const text = bytes.toString('utf8');
    const m = /__EXIT__(\d+)/.exec(text);
    return { code: m ? Number(m[1]) : null, bytes, text };
  } finally {
    tmux('kill-server');
  }
}

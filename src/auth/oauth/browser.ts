/**
 * Opens the system browser with the URL as one argv element: never through a shell, so nothing in
 * the URL is interpreted. $BROWSER wins when set (as for gh, git and Python's webbrowser).
 */
import { spawn } from 'node:child_process';

export function browserCommand(url: string, env: NodeJS.ProcessEnv = process.env, platform = process.platform): [string, string[]] {
  if (env.BROWSER) return [env.BROWSER, [url]];
  if (platform === 'darwin') return ['open', [url]];
  // `start` is a cmd.exe built-in (it would need a shell); rundll32 opens the default browser directly.
  if (platform === 'win32') return ['rundll32', ['url.dll,FileProtocolHandler', url]];
  return ['xdg-open', [url]];
}

/** Resolves true when the opener started (it may still fail later; the URL is printed anyway). */
export function openBrowser(url: string, env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  const [cmd, args] = browserCommand(url, env);
  return new Promise((resolve) => {
    try {
      const child = spawn(cmd, args, { stdio: 'ignore', detached: true, shell: false, env });
      child.once('error', () => {
        resolve(false);
      });
      child.once('spawn', () => {
        child.unref();
        resolve(true);
      });
    } catch {
      resolve(false);
    }
  });
}

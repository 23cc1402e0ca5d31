import { homedir } from 'node:os';
import { join } from 'node:path';

type Env = NodeJS.ProcessEnv;

/** Per-OS config dir: XDG on Linux, Application Support on macOS, %APPDATA% on Windows. */
export function configDir(env: Env = process.env, platform = process.platform): string {
  if (env.LOOPIQ_CONFIG_DIR) return env.LOOPIQ_CONFIG_DIR;
  const home = env.HOME || homedir();
  if (platform === 'darwin') return join(home, 'Library', 'Application Support', 'loopiq-mcp');
  if (platform === 'win32') return join(env.APPDATA || join(home, 'AppData', 'Roaming'), 'loopiq-mcp');
  return join(env.XDG_CONFIG_HOME || join(home, '.config'), 'loopiq-mcp');
}

/** Pending approvals and the audit log: $XDG_STATE_HOME on Linux, beside the config elsewhere. */
export function stateDir(env: Env = process.env, platform = process.platform): string {
  if (env.LOOPIQ_STATE_DIR) return env.LOOPIQ_STATE_DIR;
  if (platform === 'darwin' || platform === 'win32') return join(configDir(env, platform), 'state');
  const home = env.HOME || homedir();
  return join(env.XDG_STATE_HOME || join(home, '.local', 'state'), 'loopiq-mcp');
}

import { LoopIqError } from '../api/errors.js';
import { DEFAULT_API_URL } from '../api/contract.js';
import { ConfigFile } from './config-file.js';
import { configDir, stateDir } from './paths.js';

/** Options every command accepts; flag > environment > config file > default. */
export interface GlobalFlags {
  apiUrl?: string;
  org?: string;
  readOnly?: boolean;
}

export interface Settings {
  apiUrl: string;
  apiOrigin: string;
  /** An org pinned by flag or env (id or slug); otherwise the config file's selection is used. */
  pinnedOrg?: { value: string; source: 'flag' | 'env' };
  readOnly: boolean;
  configDir: string;
  stateDir: string;
  config: ConfigFile;
  env: NodeJS.ProcessEnv;
}

const TRUE = new Set(['1', 'true', 'yes', 'on']);
const FALSE = new Set(['', '0', 'false', 'no', 'off']);

export async function resolveSettings(flags: GlobalFlags, env: NodeJS.ProcessEnv = process.env): Promise<Settings> {
  const dir = configDir(env);
  const config = new ConfigFile(dir);
  const file = flags.apiUrl || env.LOOPIQ_API_URL ? undefined : await config.read();
  const apiUrl = normalizeApiUrl(flags.apiUrl || env.LOOPIQ_API_URL || file?.apiUrl || DEFAULT_API_URL);
  const pinned = flags.org
    ? { value: flags.org, source: 'flag' as const }
    : env.LOOPIQ_ORG
      ? { value: env.LOOPIQ_ORG, source: 'env' as const }
      : undefined;
  return {
    apiUrl,
    apiOrigin: new URL(apiUrl).origin,
    ...(pinned ? { pinnedOrg: pinned } : {}),
    readOnly: flags.readOnly === true || parseBool('LOOPIQ_READ_ONLY', env.LOOPIQ_READ_ONLY),
    configDir: dir,
    stateDir: stateDir(env),
    config,
    env,
  };
}

export function parseBool(name: string, value: string | undefined): boolean {
  if (value === undefined) return false;
  const v = value.trim().toLowerCase();
  if (TRUE.has(v)) return true;
  if (FALSE.has(v)) return false;
  throw new LoopIqError('config_invalid', `${name}=${value} is not a boolean.`, `Set ${name} to 1 or 0.`);
}

/** https only, except plain http to a loopback host (the sandbox, local proxies). */
export function normalizeApiUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new LoopIqError('config_invalid', `API URL "${raw}" is not a URL.`, 'Use e.g. --api-url https://ai.loopiq.com');
  }
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname) || url.hostname.startsWith('127.');
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new LoopIqError(
      'config_invalid',
      `API URL ${url.origin} is not https; the token would travel in clear text.`,
      'Use an https:// URL (plain http is allowed only for localhost).',
    );
  }
  if (url.username || url.password) {
    throw new LoopIqError('config_invalid', 'API URL must not contain credentials.', 'Remove user:password@ from the URL.');
  }
  return url.origin + url.pathname.replace(/\/+$/, '');
}

/**
 * The one place where every setting is read, parsed and validated: flag > environment > config
 * file > default. Errors name the source exactly as the user wrote it ("LOOPIQ_CONFIRM=sms: unknown
 * channel", "--api-url: …"), so the fix is obvious. `serve`, `status`, `doctor` and `install` all
 * resolve through here, so they agree on what a launch will do.
 */
import { LoopIqError } from '../api/errors.js';
import { DEFAULT_API_URL } from '../api/contract.js';
import type { ChannelName } from '../gate/gate.js';
import { secureUrl } from '../util/loopback.js';
import { ConfigFile } from './config-file.js';
import { configDir, stateDir } from './paths.js';

/** Options every command accepts; flag > environment > config file > default. */
export interface GlobalFlags {
  apiUrl?: string;
  org?: string;
  readOnly?: boolean;
  /** `serve --confirm`. */
  confirm?: string;
}

export type Source = 'flag' | 'env' | 'config' | 'default';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const DEFAULT_CONFIRM_TIMEOUT_S = 300;

/** The gate's channels, listed here so resolving settings does not load the gate (checked below). */
export const CHANNELS = ['elicitation', 'dialog', 'terminal'] as const satisfies readonly ChannelName[];
type _AllChannels = ChannelName extends (typeof CHANNELS)[number] ? true : never;
export const _allChannels: _AllChannels = true;

export interface Settings {
  apiUrl: string;
  apiOrigin: string;
  apiUrlSource: Source;
  /** An org pinned by flag or env (id or slug); otherwise the config file's selection is used. */
  pinnedOrg?: { value: string; source: 'flag' | 'env' };
  readOnly: boolean;
  readOnlySource: Source;
  /**
   * channels: in order; timeoutMs: how long a dialog stays open; waitMs: how long one tool call
   * waits before `approval_pending` (below clients' ~60 s limit); writeTimeoutMs: one write attempt,
   * body included.
   */
  confirm: { channels: ChannelName[]; channelsSource: Source; timeoutMs: number; waitMs: number; writeTimeoutMs: number };
  logLevel: LogLevel;
  configDir: string;
  stateDir: string;
  config: ConfigFile;
  /** Set only with `tolerateConfigError`: the config file is corrupt and was ignored (left untouched). */
  configError?: LoopIqError;
  env: NodeJS.ProcessEnv;
}

export interface ResolveOptions {
  /** `login` and `doctor` must work with a corrupt config file (they are how one recovers). */
  tolerateConfigError?: boolean;
}

const TRUE = new Set(['1', 'true', 'yes', 'on']);
const FALSE = new Set(['', '0', 'false', 'no', 'off']);

export async function resolveSettings(flags: GlobalFlags, env: NodeJS.ProcessEnv = process.env, options: ResolveOptions = {}): Promise<Settings> {
  // Everything that needs no file is validated first, so a typo is reported before anything else.
  const logLevel = parseLogLevel(env.LOOPIQ_LOG_LEVEL);
  // Read by the API client itself; validated here so a typo refuses to start instead of being ignored.
  parseSeconds('LOOPIQ_REQUEST_TIMEOUT_MS', env.LOOPIQ_REQUEST_TIMEOUT_MS === undefined ? undefined : String(Number(env.LOOPIQ_REQUEST_TIMEOUT_MS) / 1000), 30, 600);
  const readOnlyEnv = parseBool('LOOPIQ_READ_ONLY', env.LOOPIQ_READ_ONLY);
  const confirm = {
    ...(flags.confirm !== undefined
      ? { channels: parseChannelList(`--confirm ${flags.confirm}`, flags.confirm), channelsSource: 'flag' as const }
      : env.LOOPIQ_CONFIRM !== undefined
        ? { channels: parseChannelList(`LOOPIQ_CONFIRM=${env.LOOPIQ_CONFIRM}`, env.LOOPIQ_CONFIRM), channelsSource: 'env' as const }
        : { channels: [...CHANNELS], channelsSource: 'default' as const }),
    timeoutMs: parseConfirmTimeout(env.LOOPIQ_CONFIRM_TIMEOUT),
    waitMs: parseSeconds('LOOPIQ_CONFIRM_WAIT', env.LOOPIQ_CONFIRM_WAIT, 45, 3600),
    writeTimeoutMs: parseSeconds('LOOPIQ_WRITE_TIMEOUT', env.LOOPIQ_WRITE_TIMEOUT, 60, 600),
  };
  const flagUrl = flags.apiUrl !== undefined ? normalizeApiUrl(flags.apiUrl, '--api-url') : undefined;
  const envUrl = env.LOOPIQ_API_URL ? normalizeApiUrl(env.LOOPIQ_API_URL, 'LOOPIQ_API_URL') : undefined;

  const dir = configDir(env);
  const config = new ConfigFile(dir);
  let configError: LoopIqError | undefined;
  let fileUrl: string | undefined;
  // Read (and so validate) the file even when the URL comes from elsewhere: it also holds the org choice.
  {
    try {
      const file = await config.read();
      if (file.apiUrl && !flagUrl && !envUrl) fileUrl = normalizeApiUrl(file.apiUrl, `"apiUrl" in ${config.path}`);
    } catch (err) {
      if (!(options.tolerateConfigError && err instanceof LoopIqError && err.code === 'config_invalid')) throw err;
      configError = err;
    }
  }
  const [apiUrl, apiUrlSource]: [string, Source] = flagUrl
    ? [flagUrl, 'flag']
    : envUrl
      ? [envUrl, 'env']
      : fileUrl
        ? [fileUrl, 'config']
        : [DEFAULT_API_URL, 'default'];

  const pinned = flags.org ? { value: flags.org, source: 'flag' as const } : env.LOOPIQ_ORG ? { value: env.LOOPIQ_ORG, source: 'env' as const } : undefined;
  const readOnlySource: Source = flags.readOnly === true ? 'flag' : readOnlyEnv ? 'env' : 'default';
  return {
    apiUrl,
    apiOrigin: new URL(apiUrl).origin,
    apiUrlSource,
    ...(pinned ? { pinnedOrg: pinned } : {}),
    readOnly: readOnlySource !== 'default',
    readOnlySource,
    confirm,
    logLevel,
    configDir: dir,
    stateDir: stateDir(env),
    config,
    ...(configError ? { configError } : {}),
    env,
  };
}

export function parseBool(name: string, value: string | undefined): boolean {
  if (value === undefined) return false;
  const v = value.trim().toLowerCase();
  if (TRUE.has(v)) return true;
  if (FALSE.has(v)) return false;
  throw new LoopIqError('config_invalid', `${name}=${value}: not a boolean.`, `Set ${name} to 1 or 0 (or unset it).`);
}

export function parseLogLevel(value: string | undefined): LogLevel {
  if (value === undefined || value === '') return 'info';
  const v = value.trim().toLowerCase();
  if ((LOG_LEVELS as readonly string[]).includes(v)) return v as LogLevel;
  throw new LoopIqError('config_invalid', `LOOPIQ_LOG_LEVEL=${value}: unknown level.`, `Use one of: ${LOG_LEVELS.join(', ')} (or unset it).`);
}

/** `what` is the setting as the user wrote it, e.g. `LOOPIQ_CONFIRM=sms` or `--confirm sms`. */
export function parseChannelList(what: string, value: string): ChannelName[] {
  const names = value.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = names.filter((n) => !(CHANNELS as readonly string[]).includes(n));
  if (bad.length || names.length === 0) {
    throw new LoopIqError(
      'config_invalid',
      `${what}: ${names.length === 0 ? 'no channel given' : `unknown channel${bad.length > 1 ? 's' : ''} ${bad.join(', ')}`}.`,
      `Use a comma-separated list of: ${CHANNELS.join(', ')}.`,
    );
  }
  return names as ChannelName[];
}

/** A duration in seconds (fractions allowed), as milliseconds. */
export function parseSeconds(name: string, raw: string | undefined, fallback: number, max: number): number {
  if (raw === undefined || raw.trim() === '') return fallback * 1000;
  const s = Number(raw);
  if (!Number.isFinite(s) || s <= 0 || s > max) {
    throw new LoopIqError('config_invalid', `${name}=${raw}: not a number of seconds between 0 and ${max}.`, `Set it to e.g. ${fallback}, or unset it.`);
  }
  return s * 1000;
}

export function parseConfirmTimeout(raw: string | undefined): number {
  if (raw === undefined || raw.trim() === '') return DEFAULT_CONFIRM_TIMEOUT_S * 1000;
  const s = Number(raw);
  if (!Number.isFinite(s) || s <= 0 || s > 3600) {
    throw new LoopIqError('config_invalid', `LOOPIQ_CONFIRM_TIMEOUT=${raw}: not a number of seconds between 1 and 3600.`, 'Set it to e.g. 300, or unset it.');
  }
  return s * 1000;
}

/** https only, except plain http to a loopback host (the sandbox, local proxies). `what` names the setting. */
export function normalizeApiUrl(raw: string, what = 'API URL'): string {
  const url = secureUrl(raw.trim(), what);
  return url.origin + url.pathname.replace(/\/+$/, '');
}

export function describeSource(source: Source, setting: { flag: string; env: string }): string {
  return source === 'flag' ? setting.flag : source === 'env' ? setting.env : source === 'config' ? 'the config file' : 'the default';
}

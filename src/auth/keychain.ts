import { existsSync } from 'node:fs';
import { LoopIqError } from '../api/errors.js';
import { log } from '../util/log.js';

export const KEYCHAIN_SERVICE = 'loopiq-mcp';
export const KEYCHAIN_TIMEOUT_MS = 3_000;
/** Claude Desktop's bundle users have no terminal to run `login` in: the token goes in the bundle's settings. */
export const BUNDLE_TOKEN_HINT =
  'Paste a LoopIQ token into this extension\'s "LoopIQ token" setting (Claude Desktop → Settings → Extensions → LoopIQ → Configure), or run `loopiq-mcp login` where the keychain works.';

/** One secret: the token for one API origin. */
export interface SecretStore {
  get(): Promise<string | null>;
  set(secret: string): Promise<void>;
  delete(): Promise<boolean>;
}

/**
 * The OS keychain via @napi-rs/keyring (loaded lazily: not needed to answer `initialize`).
 * Linux is pinned to the Secret Service so a missing keyring is an error, never a silent
 * in-memory store. Every call has a timeout.
 */
export class Keychain implements SecretStore {
  /** How many reads this process made (reported by benchmarks and `doctor`). */
  static reads = 0;
  private readonly service: string;

  constructor(
    readonly account: string,
    private readonly env: NodeJS.ProcessEnv = process.env,
    private readonly timeoutMs = KEYCHAIN_TIMEOUT_MS,
  ) {
    this.service = env.LOOPIQ_KEYCHAIN_SERVICE || KEYCHAIN_SERVICE;
  }

  async get(): Promise<string | null> {
    const n = ++Keychain.reads;
    const started = performance.now();
    const token = await this.run('read the token from', (e, signal) => e.getPassword(signal));
    log.debug(`keychain read #${n} for ${this.account}: ${(performance.now() - started).toFixed(1)} ms`);
    return token;
  }

  async set(secret: string): Promise<void> {
    await this.run('store the token in', (e, signal) => e.setPassword(secret, signal));
  }

  async delete(): Promise<boolean> {
    return this.run('delete the token from', (e, signal) => e.deletePassword(signal));
  }

  private async run<T>(what: string, op: (entry: import('@napi-rs/keyring').AsyncEntry, signal: AbortSignal) => Promise<T>): Promise<T> {
    ensureSessionBus(this.env);
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        controller.abort();
        reject(
          new LoopIqError(
            'keychain_unavailable',
            `The OS keychain did not answer within ${this.timeoutMs / 1000} s (trying to ${what} it).`,
            keychainHint(this.env),
          ),
        );
      }, this.timeoutMs);
    });
    try {
      const { AsyncEntry } = await import('@napi-rs/keyring');
      const entry = new AsyncEntry(this.service, this.account, { linux: { store: 'secret-service' } });
      return await Promise.race([op(entry, controller.signal), timeout]);
    } catch (err) {
      if (err instanceof LoopIqError) throw err;
      const detail = err instanceof Error ? err.message : String(err);
      throw new LoopIqError('keychain_unavailable', `Could not ${what} the OS keychain: ${detail}`, keychainHint(this.env));
    } finally {
      clearTimeout(timer);
    }
  }
}

export function keychainHint(env: NodeJS.ProcessEnv = process.env): string {
  if (env.LOOPIQ_BUNDLE) return BUNDLE_TOKEN_HINT; // started from the MCP Bundle (mcpb/manifest.json)
  if (process.platform === 'linux') {
    return (
      'loopiq-mcp needs a Secret Service (GNOME Keyring or KWallet) on the session D-Bus' +
      (env.DBUS_SESSION_BUS_ADDRESS ? ` (DBUS_SESSION_BUS_ADDRESS=${env.DBUS_SESSION_BUS_ADDRESS})` : ' (DBUS_SESSION_BUS_ADDRESS is not set)') +
      '. Unlock your keyring or start one; on a headless machine set LOOPIQ_TOKEN instead. `loopiq-mcp doctor` checks this.'
    );
  }
  return 'Unlock your keychain and try again; on a headless machine set LOOPIQ_TOKEN instead. `loopiq-mcp doctor` checks this.';
}

/**
 * Desktop clients start servers with a stripped environment; on Linux the session bus usually
 * still lives at /run/user/<uid>/bus.
 */
export function ensureSessionBus(env: NodeJS.ProcessEnv = process.env) {
  if (process.platform !== 'linux' || env.DBUS_SESSION_BUS_ADDRESS || typeof process.getuid !== 'function') return;
  const socket = `/run/user/${process.getuid()}/bus`;
  if (existsSync(socket)) {
    env.DBUS_SESSION_BUS_ADDRESS = `unix:path=${socket}`;
    if (env !== process.env) process.env.DBUS_SESSION_BUS_ADDRESS = env.DBUS_SESSION_BUS_ADDRESS;
  }
}

import type { Settings } from '../config/settings.js';
import { Keychain, type SecretStore } from './keychain.js';
import { envTokenSource, notLoggedIn, type TokenSource } from './token-source.js';
import { StoredTokenSource } from './oauth/token-source.js';

/** Reads the keychain once, and again only after a 401 (a `rotate` elsewhere). */
export class KeychainTokenSource implements TokenSource {
  readonly kind = 'keychain' as const;
  private current: Promise<string> | undefined;

  constructor(
    private readonly store: SecretStore,
    private readonly origin: string,
  ) {}

  get(): Promise<string> {
    if (!this.current) {
      this.current = this.read();
      this.current.catch(() => (this.current = undefined));
    }
    return this.current;
  }

  async reload(): Promise<string | undefined> {
    const before = await this.current?.catch(() => undefined);
    this.current = undefined;
    const fresh = await this.get().catch(() => undefined);
    return fresh !== before ? fresh : undefined;
  }

  private async read(): Promise<string> {
    const token = await this.store.get();
    if (!token) {
      throw notLoggedIn(`No LoopIQ token in the OS keychain for ${this.origin}: not logged in, or the keyring is locked.`);
    }
    return token;
  }
}

/** LOOPIQ_TOKEN wins over the keychain (and `status` warns about it). */
export function createTokenSource(settings: Pick<Settings, 'env' | 'apiOrigin' | 'stateDir'>, store?: SecretStore): TokenSource {
  // StoredTokenSource also understands (and refreshes) an OAuth login (src/auth/oauth).
  return envTokenSource(settings.env) ?? new StoredTokenSource(store ?? new Keychain(settings.apiOrigin, settings.env), { origin: settings.apiOrigin, stateDir: settings.stateDir });
}

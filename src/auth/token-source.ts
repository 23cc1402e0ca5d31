import { LoopIqError } from '../api/errors.js';
import { BUNDLE_TOKEN_HINT } from './keychain.js';

/**
 * Where the bearer token comes from. The server reads it once, and again only after a 401 (so a
 * `rotate` in another terminal does not break running servers).
 */
export interface TokenSource {
  /** `given`: a token handed to one command (login, rotate), so a 401 never blames LOOPIQ_TOKEN. */
  readonly kind: 'env' | 'keychain' | 'sandbox' | 'given';
  get(): Promise<string>;
  /** Re-read after a 401. Resolves to the new token when it changed, else undefined. */
  reload(): Promise<string | undefined>;
}

export class StaticTokenSource implements TokenSource {
  constructor(
    readonly kind: 'env' | 'sandbox' | 'given',
    private readonly token: string,
  ) {}
  get(): Promise<string> {
    return Promise.resolve(this.token);
  }
  reload(): Promise<string | undefined> {
    return Promise.resolve(undefined);
  }
}

export function envTokenSource(env: NodeJS.ProcessEnv): TokenSource | undefined {
  const token = env.LOOPIQ_TOKEN?.trim();
  return token ? new StaticTokenSource('env', token) : undefined;
}

export const notLoggedIn = (detail = 'No LoopIQ token found.') =>
  new LoopIqError('not_logged_in', detail, process.env.LOOPIQ_BUNDLE ? BUNDLE_TOKEN_HINT : 'Run `loopiq-mcp login` (or set LOOPIQ_TOKEN for headless use).');

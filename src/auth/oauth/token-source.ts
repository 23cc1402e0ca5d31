/**
 * The keychain token source for every kind of login: a pasted token (a plain string) is read once
 * and again only after a 401, as before; an OAuth login (a JSON value, see credential.ts) is also
 * refreshed shortly before it expires and after a 401, through OAuthSession (one refresh across
 * all processes). The refresh code is loaded only when an OAuth login is found.
 *
 * The hosted MCP endpoint mode (DESIGN §3b) takes its bearer token from this same object:
 * HostedMcp's transport `fetch` calls `get()` before each HTTP request and `reload()` after a 401,
 * so both modes share one login, one lock and one refresh (test/oauth-mcp.test.ts).
 */
import type { SecretStore } from '../keychain.js';
import { log } from '../../util/log.js';
import { notLoggedIn, type TokenSource } from '../token-source.js';
import { needsRefresh, parseStored, type StoredCredential } from './credential.js';
import type { OAuthSession } from './session.js';

const tokenOf = (c: StoredCredential | undefined) => (c === undefined ? undefined : c.kind === 'token' ? c.token : c.accessToken);

export class StoredTokenSource implements TokenSource {
  readonly kind = 'keychain' as const;
  private current: Promise<StoredCredential> | undefined;
  private session?: Promise<OAuthSession>;

  constructor(
    private readonly store: SecretStore,
    private readonly opts: { origin: string; stateDir: string },
  ) {}

  /** What is stored (read once; again after a 401 or a refresh). */
  credential(): Promise<StoredCredential> {
    if (!this.current) {
      this.current = this.read();
      this.current.catch(() => (this.current = undefined));
    }
    return this.current;
  }

  async get(): Promise<string> {
    const c = await this.credential();
    if (c.kind === 'token') return c.token;
    if (!needsRefresh(c)) return c.accessToken;
    try {
      return (await this.refresh(c.accessToken)).accessToken;
    } catch (err) {
      // Refreshing early failed (authorization server unreachable?): the token still works until it expires.
      if (c.expiresAt !== undefined && Date.now() < c.expiresAt - 1_000 && (err as { code?: string }).code !== 'not_logged_in') {
        log.warn(`oauth: could not refresh the access token yet (${(err as Error).message}); using the current one until it expires`);
        this.current = Promise.resolve(c);
        return c.accessToken;
      }
      throw err;
    }
  }

  async reload(): Promise<string | undefined> {
    const before = await this.current?.catch(() => undefined);
    this.current = undefined;
    const now = await this.credential().catch(() => undefined);
    if (!now) return undefined;
    if (now.kind === 'token') return now.token !== tokenOf(before) ? now.token : undefined;
    // Another process refreshed (or a new login happened) since we read: use that.
    if (now.accessToken !== tokenOf(before) && !needsRefresh(now)) return now.accessToken;
    // Refused although not expired (revoked, clock skew): refresh; a failure says why (log in again).
    const fresh = await this.refresh(now.accessToken);
    return fresh.accessToken !== tokenOf(before) ? fresh.accessToken : undefined;
  }

  /** Refresh now (`rotate` on an OAuth login). */
  async forceRefresh() {
    const c = await this.credential();
    if (c.kind !== 'oauth') throw notLoggedIn('The stored login is not an OAuth login.');
    return this.refresh(c.accessToken, true);
  }

  private async refresh(stale: string, force = false) {
    this.session ??= import('./session.js').then(({ OAuthSession }) => new OAuthSession(this.store, this.opts));
    const fresh = (await this.session).refresh(stale, force);
    this.current = fresh;
    this.current.catch(() => (this.current = undefined));
    return fresh;
  }

  private async read(): Promise<StoredCredential> {
    const raw = await this.store.get();
    if (!raw) throw notLoggedIn(`No LoopIQ token in the OS keychain for ${this.opts.origin}: not logged in, or the keyring is locked.`);
    return parseStored(raw);
  }
}

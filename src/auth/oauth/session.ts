/**
 * Refreshing an OAuth login stored in the keychain, safely across processes. Desktop clients run
 * several servers at once and CLI commands run beside them; with rotating refresh tokens, two
 * refreshes from the same token would lose one rotated token and end the login (`invalid_grant`).
 * So a refresh happens under a cross-process lock, and whoever gets the lock first re-reads the
 * keychain: if another process already refreshed, its tokens are used and no request is made.
 *
 * The lock is proper-lockfile's (an atomic mkdir whose mtime the holder keeps fresh), not
 * src/gate/lock.ts: that one treats a lock older than 5 s as abandoned, and a refresh is a
 * network call that can take longer, so a live holder would be overtaken and two refreshes run.
 */
import { nodeCrypto } from '../../util/node-crypto.js';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import * as oidc from 'openid-client';
import { LoopIqError } from '../../api/errors.js';
import type { SecretStore } from '../keychain.js';
import { secureUrl } from '../../util/loopback.js';
import { log } from '../../util/log.js';
import { configuration } from './client.js';
import { needsRefresh, parseStored, serialize, type OAuthCredential } from './credential.js';
import { oauthErrorCode, oauthFailure } from './errors.js';

const LOCK = { stale: 20_000, update: 5_000, retries: { retries: 200, factor: 1.2, minTimeout: 20, maxTimeout: 250 } };

export const reloginHint = (c: Pick<OAuthCredential, 'flow' | 'mcpUrl'>) => `Log in again: \`loopiq-mcp login${c.mcpUrl ? ` --mcp-url ${c.mcpUrl}` : ''} --${c.flow}\`.`;

export function credentialConfiguration(c: OAuthCredential): oidc.Configuration {
  secureUrl(c.tokenEndpoint, 'the stored token endpoint');
  return configuration({ issuer: c.issuer, token_endpoint: c.tokenEndpoint, ...(c.revocationEndpoint ? { revocation_endpoint: c.revocationEndpoint } : {}) }, c.clientId);
}

/** A stored credential updated from a token response (a refresh may omit the refresh token: keep the old one). */
export function fromTokenResponse(base: Omit<OAuthCredential, 'accessToken' | 'obtainedAt' | 'expiresAt' | 'refreshToken'> & { refreshToken?: string }, tokens: oidc.TokenEndpointResponse, now = Date.now()): OAuthCredential {
  const expiresIn = typeof tokens.expires_in === 'number' ? tokens.expires_in : undefined;
  const { refreshToken: previous, ...rest } = base;
  const refreshToken = tokens.refresh_token ?? previous;
  return {
    ...rest,
    accessToken: tokens.access_token,
    ...(refreshToken ? { refreshToken } : {}),
    ...(expiresIn !== undefined ? { expiresAt: now + expiresIn * 1000 } : {}),
    obtainedAt: now,
    ...(tokens.scope ? { scope: tokens.scope } : {}),
  };
}

export class OAuthSession {
  private inflight: Promise<OAuthCredential> | undefined;

  constructor(
    private readonly store: SecretStore,
    private readonly opts: { stateDir: string; origin: string },
  ) {}

  private lockPath() {
    const id = nodeCrypto().createHash('sha256').update(this.opts.origin).digest('hex').slice(0, 16);
    return join(this.opts.stateDir, `oauth-refresh-${id}.lock`);
  }

  /**
   * A fresh access token. `stale` is the access token the caller found wanting (expired soon, or
   * refused with a 401): if the keychain already holds another one that is still good, that is the
   * answer. `force` refreshes regardless (`rotate`).
   */
  refresh(stale: string | undefined, force = false): Promise<OAuthCredential> {
    // One refresh per process at a time; callers arriving meanwhile share its result.
    this.inflight ??= this.refreshLocked(stale, force).finally(() => (this.inflight = undefined));
    return this.inflight;
  }

  private async refreshLocked(stale: string | undefined, force: boolean): Promise<OAuthCredential> {
    await mkdir(this.opts.stateDir, { recursive: true, mode: 0o700 });
    let compromised: Error | undefined;
    const release = await lockfile.lock(this.opts.stateDir, {
      ...LOCK,
      realpath: false,
      lockfilePath: this.lockPath(),
      onCompromised: (err) => (compromised = err),
    });
    try {
      const raw = await this.store.get();
      const current = raw ? parseStored(raw) : undefined;
      if (!current || current.kind !== 'oauth') {
        throw new LoopIqError('not_logged_in', `The OAuth login for ${this.opts.origin} is no longer in the OS keychain (logged out, or replaced by a token).`, 'Run `loopiq-mcp login --web` (or `loopiq-mcp login`).');
      }
      if (!force && current.accessToken !== stale && !needsRefresh(current)) {
        log.debug('oauth: another process already refreshed; using its token');
        return current;
      }
      if (!current.refreshToken) {
        throw new LoopIqError('not_logged_in', 'The OAuth access token has expired and the authorization server gave no refresh token.', reloginHint(current));
      }
      let tokens: oidc.TokenEndpointResponse;
      try {
        tokens = await oidc.refreshTokenGrant(credentialConfiguration(current), current.refreshToken, { resource: current.resource });
      } catch (err) {
        if (oauthErrorCode(err) === 'invalid_grant') {
          throw new LoopIqError('not_logged_in', `The OAuth login for ${this.opts.origin} has ended: the authorization server refused the refresh token (expired or revoked).`, reloginHint(current));
        }
        throw oauthFailure('Refreshing the OAuth access token', err, 'Check your network and try again; `loopiq-mcp status` shows the login.');
      }
      const next = fromTokenResponse(current, tokens);
      // Store even if the lock was lost meanwhile: the old refresh token is spent, this one is the only one left.
      if (compromised) log.warn(`oauth: the refresh lock was lost (${compromised.message}); storing the refreshed token anyway`);
      try {
        await this.store.set(serialize(next));
      } catch (err) {
        throw new LoopIqError('keychain_unavailable', `The access token was refreshed but could not be stored in the OS keychain: ${(err as Error).message}`, `Fix the keychain (\`loopiq-mcp doctor\`), then ${reloginHint(current).replace(/^L/, 'l')}`);
      }
      log.debug(`oauth: refreshed the access token for ${this.opts.origin}`);
      return next;
    } finally {
      await release().catch(() => {});
    }
  }
}

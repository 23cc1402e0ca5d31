/**
 * What an OAuth login keeps in the keychain entry for the API origin: one JSON value with the
 * access token, the refresh token, the expiry, and what a refresh needs without discovery (token
 * endpoint, client id, resource). A pasted token stays a plain string in the same entry, so older
 * logins keep working; `parseStored` tells the two apart.
 */
import { addSecret } from '../../util/redact.js';

export interface OAuthCredential {
  kind: 'oauth';
  /** Format version of this JSON value. */
  v: 1;
  accessToken: string;
  refreshToken?: string;
  /** Epoch milliseconds; absent when the server gave no `expires_in`. */
  expiresAt?: number;
  /** When this access token was obtained (epoch ms): the refresh margin scales with its lifetime. */
  obtainedAt: number;
  issuer: string;
  tokenEndpoint: string;
  revocationEndpoint?: string;
  clientId: string;
  /** The RFC 8707 resource indicator the tokens were issued for. */
  resource: string;
  scope?: string;
  /** How the login was made (shown by `status`). */
  flow: 'web' | 'device';
  /** The hosted MCP endpoint this login is for (`login --mcp-url`); absent for the REST API. */
  mcpUrl?: string;
}

export type StoredCredential = { kind: 'token'; token: string } | OAuthCredential;

export function parseStored(raw: string): StoredCredential {
  const text = raw.trim();
  if (text.startsWith('{')) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      value = undefined;
    }
    const c = value as Partial<OAuthCredential> | undefined;
    if (c && c.kind === 'oauth' && typeof c.accessToken === 'string' && typeof c.tokenEndpoint === 'string' && typeof c.clientId === 'string') {
      registerSecrets(c as OAuthCredential);
      return c as OAuthCredential;
    }
  }
  addSecret(text);
  return { kind: 'token', token: text };
}

export function serialize(c: OAuthCredential): string {
  registerSecrets(c);
  return JSON.stringify(c);
}

export function registerSecrets(c: Pick<OAuthCredential, 'accessToken' | 'refreshToken'>) {
  addSecret(c.accessToken);
  addSecret(c.refreshToken);
}

/**
 * Refresh this long before expiry: a fifth of the token's lifetime, at most a minute — so a
 * one-hour token is refreshed a minute early and a ten-second test token two seconds early.
 */
export function refreshMarginMs(c: OAuthCredential): number {
  if (c.expiresAt === undefined) return 0;
  return Math.min(60_000, Math.max(0, (c.expiresAt - c.obtainedAt) / 5));
}

export function needsRefresh(c: OAuthCredential, now = Date.now()): boolean {
  return c.expiresAt !== undefined && now >= c.expiresAt - refreshMarginMs(c);
}

export function expiresAtIso(c: OAuthCredential): string | null {
  return c.expiresAt === undefined ? null : new Date(c.expiresAt).toISOString();
}

/**
 * `login --web` / `login --device`, and what `logout`, `rotate` and `status` do for an OAuth login.
 * Discovery and registration are the MCP SDK's; the grants (authorization code + PKCE + state,
 * device authorization, refresh, revocation) are openid-client's. This file is the glue: which
 * parameters, what the person sees, what is stored.
 */
import * as oidc from 'openid-client';
import { api, type Me } from '../api/contract.js';
import { LoopIqError, toLoopIqError } from '../api/errors.js';
import { openBrowser } from '../auth/oauth/browser.js';
import { oauthClient, type Flow } from '../auth/oauth/client.js';
import { expiresAtIso, parseStored, registerSecrets, serialize, type OAuthCredential } from '../auth/oauth/credential.js';
import { discoverAuthServer, type AuthServer } from '../auth/oauth/discovery.js';
import { oauthErrorCode, oauthFailure } from '../auth/oauth/errors.js';
import { startLoopbackReceiver } from '../auth/oauth/loopback-receiver.js';
import { credentialConfiguration, fromTokenResponse, reloginHint } from '../auth/oauth/session.js';
import { StoredTokenSource } from '../auth/oauth/token-source.js';
import type { GlobalFlags } from '../config/settings.js';
import { rememberLogin } from './login.js';
import { inspectEndpoint, storeMcpLogin, type McpFlags } from './upstream-identity.js';
import { commandContext, processIo, refuseWithEnvToken, type CommandContext, type Io } from './context.js';

export interface OAuthLoginOptions extends GlobalFlags {
  web?: boolean;
  device?: boolean;
  /** false with --no-browser. */
  browser?: boolean;
  clientId?: string;
  json?: boolean;
}

const DEFAULT_TIMEOUT_S = 300;

function loginTimeoutMs(env: NodeJS.ProcessEnv): number {
  const raw = env.LOOPIQ_OAUTH_TIMEOUT;
  if (raw === undefined) return DEFAULT_TIMEOUT_S * 1000;
  const s = Number(raw);
  if (!Number.isFinite(s) || s <= 0 || s > 3600) throw new LoopIqError('config_invalid', `LOOPIQ_OAUTH_TIMEOUT=${raw} is not a number of seconds (1-3600).`, 'Set it to e.g. 300, or unset it.');
  return s * 1000;
}

const time = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');

async function runFlow(io: Io, server: AuthServer, opts: OAuthLoginOptions, again: string): Promise<FlowResult & { flow: Flow }> {
  const flow: Flow = opts.device ? 'device' : 'web';
  const clientId = opts.clientId || io.env.LOOPIQ_OAUTH_CLIENT_ID || undefined;
  const timeoutMs = loginTimeoutMs(io.env);
  const result = flow === 'web' ? await webFlow(io, server, clientId, opts.browser !== false, timeoutMs, again) : await deviceFlow(io, server, clientId, timeoutMs, again);
  return { ...result, flow };
}

function credentialOf(server: AuthServer, tokens: FlowResult & { flow: Flow }): OAuthCredential {
  const revocation = revocationEndpoint(server);
  const cred = fromTokenResponse(
    {
      kind: 'oauth',
      v: 1,
      issuer: server.issuer,
      tokenEndpoint: server.metadata.token_endpoint,
      ...(revocation ? { revocationEndpoint: revocation } : {}),
      clientId: tokens.clientId,
      resource: server.resource,
      flow: tokens.flow,
    },
    tokens.response,
  );
  registerSecrets(cred);
  return cred;
}

export async function loginOAuth(opts: OAuthLoginOptions, io: Io = processIo()): Promise<number> {
  refuseWithEnvToken(io, 'log in');
  const ctx = await commandContext(opts, io);
  const server = await discoverAuthServer(ctx.settings.apiUrl);
  const tokens = await runFlow(io, server, opts, `\`loopiq-mcp login --${opts.device ? 'device' : 'web'}\``);
  const { finish } = tokens;
  try {
    const cred = credentialOf(server, tokens);
    const me = await verify(ctx, cred.accessToken);
    await ctx.keychain.set(serialize(cred));
    const selected = await rememberLogin(ctx, me, opts.apiUrl !== undefined);
    finish?.(true, `Logged in as ${me.user.name}. loopiq-mcp stored the login in your OS keychain.`);
    report(ctx, opts, me, cred, selected);
    return 0;
  } catch (err) {
    finish?.(false, toLoopIqError(err).message);
    throw err;
  }
}

/**
 * `login --mcp-url URL --web|--device`: discovery starts at the hosted MCP endpoint (its RFC 9728
 * metadata, or its 401), the token is checked by initialize + tools/list at the endpoint, and the
 * login is stored for the endpoint's origin with the URL remembered, as for a pasted token.
 */
export async function loginOAuthMcp(url: URL, opts: OAuthLoginOptions & McpFlags, io: Io = processIo()): Promise<number> {
  refuseWithEnvToken(io, 'log in');
  const server = await discoverAuthServer(url.href, fetch, 'mcp');
  const tokens = await runFlow(io, server, opts, `\`loopiq-mcp login --mcp-url ${url.href} --${opts.device ? 'device' : 'web'}\``);
  const { finish } = tokens;
  try {
    const cred: OAuthCredential = { ...credentialOf(server, tokens), mcpUrl: url.href };
    let seen;
    try {
      seen = await inspectEndpoint(url, cred.accessToken, opts.org, io.env);
    } catch (err) {
      const e = toLoopIqError(err);
      throw new LoopIqError(e.code, `The hosted MCP endpoint did not accept the new OAuth access token: ${e.message}`, 'Nothing was stored. Try again, or ask your LoopIQ administrator whether OAuth is enabled for the MCP endpoint.');
    }
    const expiry = cred.expiresAt === undefined ? 'does not expire' : `expires ${time(cred.expiresAt)}`;
    const code = await storeMcpLogin(url, opts, io, serialize(cred), seen, `OAuth login (${cred.issuer}) stored in the OS keychain; the access token ${expiry}${cred.refreshToken ? ' and is refreshed automatically' : ''}.`, {
      auth: 'oauth',
      flow: cred.flow,
      issuer: cred.issuer,
      accessTokenExpiresAt: expiresAtIso(cred),
      refreshable: !!cred.refreshToken,
    });
    finish?.(true, 'Logged in to the hosted MCP endpoint. loopiq-mcp stored the login in your OS keychain.');
    return code;
  } catch (err) {
    finish?.(false, toLoopIqError(err).message);
    throw err;
  }
}

const revocationEndpoint = (server: AuthServer) => (server.metadata as { revocation_endpoint?: string }).revocation_endpoint;

async function verify(ctx: CommandContext, accessToken: string): Promise<Me> {
  const client = ctx.apiWith(accessToken);
  try {
    return await client.call(api.me());
  } catch (err) {
    const e = toLoopIqError(err);
    throw new LoopIqError(e.code, `The LoopIQ API did not accept the new OAuth access token: ${e.message}`, 'Nothing was stored. Try again, or ask your LoopIQ administrator whether OAuth is enabled for your account.');
  } finally {
    await client.close();
  }
}

function report(ctx: CommandContext, opts: OAuthLoginOptions, me: Me, cred: OAuthCredential, selected: Awaited<ReturnType<typeof rememberLogin>>) {
  if (opts.json) {
    ctx.json({ user: me.user, apiUrl: ctx.settings.apiUrl, auth: 'oauth', flow: cred.flow, issuer: cred.issuer, accessTokenExpiresAt: expiresAtIso(cred), refreshable: !!cred.refreshToken, organizations: me.organizations, selectedOrganization: selected.org ?? null });
    return;
  }
  ctx.print(`Logged in to ${ctx.settings.apiUrl} as ${me.user.name} <${me.user.email}> with OAuth (${cred.issuer}).`);
  const expiry = cred.expiresAt === undefined ? 'does not expire' : `expires ${time(cred.expiresAt)}`;
  ctx.print(`Access token ${expiry}${cred.refreshToken ? ' and is refreshed automatically' : ' (no refresh token: log in again then)'}; stored in the OS keychain.`);
  ctx.print('Organizations:');
  for (const o of me.organizations) {
    const mark = o.id === selected.org?.id ? '*' : ' ';
    ctx.print(`  ${mark} ${o.slug.padEnd(16)} ${o.name} (${o.id}, ${o.role}${o.mcpEnabled ? '' : ', MCP disabled'})`);
  }
  ctx.print(selected.message);
}

interface FlowResult {
  response: oidc.TokenEndpointResponse;
  clientId: string;
  /** Tell the browser tab how it ended (web flow only). */
  finish?: (ok: boolean, detail: string) => void;
}

async function webFlow(io: Io, server: AuthServer, clientId: string | undefined, browser: boolean, timeoutMs: number, again: string): Promise<FlowResult> {
  const receiver = await startLoopbackReceiver(timeoutMs);
  let finish: FlowResult['finish'];
  try {
    const client = await oauthClient(server, { clientId, flow: 'web', redirectUri: receiver.redirectUri });
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const url = oidc.buildAuthorizationUrl(client.config, {
      redirect_uri: receiver.redirectUri,
      response_type: 'code',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      resource: server.resource,
      ...(server.scopes.length ? { scope: server.scopes.join(' ') } : {}),
    });
    const err = io.stderr;
    if (browser) {
      const opened = await openBrowser(url.href, io.env);
      err.write(opened ? 'Opening your browser to log in to LoopIQ. If it did not open, visit:\n' : 'Could not open a browser. Open this URL to log in to LoopIQ:\n');
    } else {
      err.write('Open this URL in a browser to log in to LoopIQ:\n');
    }
    err.write(`${url.href}\n`);
    err.write(`Waiting for the browser (up to ${Math.round(timeoutMs / 1000)} s)...\n`);
    const cb = await receiver.callback;
    finish = cb.finish;
    const denied = cb.url.searchParams.get('error');
    if (denied) {
      throw new LoopIqError('unauthenticated', `The authorization server did not authorize loopiq-mcp (${denied}${cb.url.searchParams.get('error_description') ? `: ${cb.url.searchParams.get('error_description')}` : ''}).`, `Nothing was stored. Run ${again} again to retry.`);
    }
    // openid-client checks state (before anything is sent), iss (RFC 9207) and the PKCE verifier.
    if (cb.url.searchParams.get('state') !== state) {
      throw new LoopIqError('unauthenticated', 'The login response did not carry the state this login sent (it may be forged); it was refused and no code was redeemed.', `Nothing was stored. Run ${again} again.`);
    }
    let response: oidc.TokenEndpointResponse;
    try {
      response = await oidc.authorizationCodeGrant(client.config, cb.url, { pkceCodeVerifier: verifier, expectedState: state, idTokenExpected: false }, { resource: server.resource });
    } catch (e) {
      throw oauthFailure('Exchanging the authorization code', e, `Nothing was stored. Run ${again} again.`);
    }
    return { response, clientId: client.clientId, finish: cb.finish };
  } catch (e) {
    finish?.(false, toLoopIqError(e).message);
    receiver.close();
    throw e;
  }
}

async function deviceFlow(io: Io, server: AuthServer, clientId: string | undefined, timeoutMs: number, again: string): Promise<FlowResult> {
  const client = await oauthClient(server, { clientId, flow: 'device' });
  let started: oidc.DeviceAuthorizationResponse;
  try {
    started = await oidc.initiateDeviceAuthorization(client.config, { resource: server.resource, ...(server.scopes.length ? { scope: server.scopes.join(' ') } : {}) });
  } catch (e) {
    throw oauthFailure('Starting the device login', e, 'Try again, or use `loopiq-mcp login --web`.');
  }
  const err = io.stderr;
  err.write(`To log in to LoopIQ, open this URL on any device:\n${started.verification_uri}\n`);
  err.write(`and enter the code: ${started.user_code}\n`);
  if (started.verification_uri_complete) err.write(`Or open this URL, which already carries the code:\n${started.verification_uri_complete}\n`);
  const expiresIn = Math.min(started.expires_in, timeoutMs / 1000);
  err.write(`Waiting for approval (the code expires in ${Math.round(started.expires_in / 60)} min)...\n`);
  const signal = AbortSignal.timeout(Math.round(expiresIn * 1000) + 5_000);
  try {
    const response = await oidc.pollDeviceAuthorizationGrant(client.config, started, { resource: server.resource }, { signal });
    return { response, clientId: client.clientId };
  } catch (e) {
    const code = oauthErrorCode(e);
    if (code === 'access_denied') throw new LoopIqError('unauthenticated', 'The login was denied at the authorization server.', `Nothing was stored. Run ${again} again if that was a mistake.`);
    if (code === 'expired_token' || signal.aborted) throw new LoopIqError('timeout', 'The device code expired before the login was approved.', `Nothing was stored. Run ${again} again and enter the new code sooner.`);
    throw oauthFailure('The device login', e, `Nothing was stored. Run ${again} again.`);
  }
}

// ------------------------------------------------------------------ logout / rotate / status

/** `logout` on an OAuth login: revoke the refresh token (RFC 7009) when offered, then delete. */
export async function logoutOAuth(ctx: CommandContext, cred: OAuthCredential): Promise<number> {
  let revoked: 'yes' | 'no' | 'unsupported' = 'unsupported';
  if (cred.revocationEndpoint) {
    try {
      const config = credentialConfiguration(cred);
      if (cred.refreshToken) await oidc.tokenRevocation(config, cred.refreshToken, { token_type_hint: 'refresh_token' });
      await oidc.tokenRevocation(config, cred.accessToken, { token_type_hint: 'access_token' });
      revoked = 'yes';
    } catch (err) {
      revoked = 'no';
      ctx.io.stderr.write(`warning: could not revoke the OAuth tokens at ${cred.issuer}: ${oauthFailure('Revocation', err, '').message}\nSign out of loopiq-mcp in your LoopIQ account settings if the tokens may be compromised.\n`);
    }
  }
  await ctx.keychain.delete();
  const what = revoked === 'yes' ? 'OAuth tokens revoked at the authorization server and ' : revoked === 'unsupported' ? 'the authorization server offers no revocation; OAuth login ' : 'OAuth login ';
  ctx.print(`Logged out of ${ctx.settings.apiOrigin}: ${what}removed from the keychain.`);
  if (ctx.io.env.LOOPIQ_TOKEN) ctx.print('Note: LOOPIQ_TOKEN is still set in this environment.');
  return 0;
}

/** `rotate` on an OAuth login: refresh now (a new access token, and a new refresh token when the server rotates them). */
export async function rotateOAuth(ctx: CommandContext, json: boolean | undefined): Promise<number> {
  const source = new StoredTokenSource(ctx.keychain, { origin: ctx.settings.apiOrigin, stateDir: ctx.settings.stateDir });
  const before = await source.credential();
  const fresh = await source.forceRefresh();
  const rotatedRefresh = before.kind === 'oauth' && !!fresh.refreshToken && fresh.refreshToken !== before.refreshToken;
  await verify(ctx, fresh.accessToken);
  if (json) ctx.json({ auth: 'oauth', accessTokenExpiresAt: expiresAtIso(fresh), refreshTokenRotated: rotatedRefresh });
  else ctx.print(`Refreshed the OAuth login: new access token ${fresh.expiresAt === undefined ? 'without expiry' : `expires ${time(fresh.expiresAt)}`}${rotatedRefresh ? '; the refresh token was rotated too' : ''}. Stored in the keychain.`);
  return 0;
}

export interface OAuthStatus {
  kind: 'oauth';
  expiresAt: string | null;
  oauth: { issuer: string; flow: Flow; refreshable: boolean };
}

/** For `status`: the stored OAuth login (read after the API call, so a refresh it made shows). */
export async function oauthStatus(ctx: CommandContext): Promise<OAuthStatus | undefined> {
  const raw = await ctx.keychain.get().catch(() => null);
  const c = raw ? parseStored(raw) : undefined;
  if (!c || c.kind !== 'oauth') return undefined;
  return { kind: 'oauth', expiresAt: expiresAtIso(c), oauth: { issuer: c.issuer, flow: c.flow, refreshable: !!c.refreshToken } };
}

export function describeOAuthToken(s: OAuthStatus, valid: boolean): string {
  const exp = s.expiresAt ? `access token expires ${time(Date.parse(s.expiresAt))}` : 'access token without expiry';
  return `OAuth (${s.oauth.flow === 'web' ? 'browser' : 'device'} login at ${s.oauth.issuer}), from keychain; ${valid ? exp : 'NOT VALID'}${s.oauth.refreshable ? ', refreshed automatically' : ''}`;
}

export { reloginHint };

/**
 * Where to log in, per the MCP authorization spec: the API's Protected Resource Metadata
 * (RFC 9728: from the `WWW-Authenticate` of a 401, else the origin's well-known URL; the MCP
 * SDK's helpers), then its authorization server's metadata (RFC 8414, else OpenID Connect
 * discovery; oauth4webapi, the layer under openid-client, which checks the issuer and keeps every
 * field — the SDK's OIDC schema drops device_authorization_endpoint and revocation_endpoint).
 * This module only chooses the URLs and checks what came back.
 */
import { discoverOAuthProtectedResourceMetadata, extractWWWAuthenticateParams } from '@modelcontextprotocol/sdk/client/auth.js';
import type { AuthorizationServerMetadata } from '@modelcontextprotocol/sdk/shared/auth.js';
import * as oauth from 'oauth4webapi';
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import { api } from '../../api/contract.js';
import { LoopIqError } from '../../api/errors.js';
import { secureUrl } from '../../util/loopback.js';
import { VERSION } from '../../version.js';

export interface AuthServer {
  /** The RFC 8707 resource indicator: the protected resource's identifier from its metadata. */
  resource: string;
  issuer: string;
  metadata: AuthorizationServerMetadata;
  /** Scopes the resource says it understands (requested at login). */
  scopes: string[];
}

/** What is logged in to: the REST API (probed with GET /me) or a hosted MCP endpoint (probed with an `initialize`). */
export type ResourceKind = 'api' | 'mcp';

const noOAuthFor = (url: string, why: string, kind: ResourceKind = 'api') =>
  new LoopIqError(
    'config_invalid',
    `${kind === 'api' ? 'The LoopIQ API' : 'The hosted MCP endpoint'} at ${url} does not offer OAuth login: ${why}.`,
    kind === 'api' ? 'Log in with an API token instead (`loopiq-mcp login`), or check --api-url.' : 'Log in with a token instead (`loopiq-mcp login --mcp-url URL --with-token`), or check --mcp-url.',
  );

/** An unauthenticated request the resource must answer with 401 (MCP spec: a request without a token). */
function probe(url: string, kind: ResourceKind, fetchFn: typeof fetch) {
  if (kind === 'api') return fetchFn(new URL(url.replace(/\/+$/, '') + api.me().path), { headers: { accept: 'application/json' } });
  const initialize = { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'loopiq-mcp', version: VERSION } } };
  return fetchFn(url, { method: 'POST', headers: { accept: 'application/json, text/event-stream', 'content-type': 'application/json' }, body: JSON.stringify(initialize) });
}

/** A resource may be named by its origin or by a URL above the API base (RFC 9728 §3.3 / §7.3). */
function resourceMatches(resource: string, apiUrl: string): boolean {
  let r: URL;
  try {
    r = new URL(resource);
  } catch {
    return false;
  }
  const a = new URL(apiUrl);
  if (r.origin !== a.origin || r.hash) return false;
  const base = r.pathname.replace(/\/+$/, '');
  return base === '' || a.pathname === base || a.pathname.startsWith(`${base}/`);
}

async function authorizationServerMetadata(issuer: URL, fetchFn: typeof fetch): Promise<oauth.AuthorizationServer> {
  // secureUrl already refused plain http to anything but loopback (the sandbox).
  const options = {
    [oauth.customFetch]: (url: string, init: oauth.CustomFetchOptions<'GET'>) =>
      fetchFn(url, { method: init.method, headers: init.headers, redirect: init.redirect, ...(init.signal ? { signal: init.signal } : {}) }),
    // eslint-disable-next-line @typescript-eslint/no-deprecated -- deprecated only as a warning sign; reached for loopback issuers alone
    [oauth.allowInsecureRequests]: issuer.protocol === 'http:',
  };
  let lastError: unknown;
  for (const algorithm of ['oauth2', 'oidc'] as const) {
    try {
      return await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { ...options, algorithm }));
    } catch (err) {
      lastError = err;
    }
  }
  throw lastError;
}

/**
 * `apiUrl`: the REST API's base URL, or with `kind: 'mcp'` the hosted MCP endpoint's URL (RFC 9728
 * path-aware metadata first, then the origin's; the resource must be that URL or above it).
 */
export async function discoverAuthServer(apiUrl: string, fetchFn: typeof fetch = fetch, kind: ResourceKind = 'api'): Promise<AuthServer> {
  const noOAuth = (url: string, why: string) => noOAuthFor(url, why, kind);
  // 1. An unauthenticated request: a 401 may point at the metadata (MCP spec: preferred source).
  let resourceMetadataUrl: URL | undefined;
  try {
    const res = await probe(apiUrl, kind, fetchFn);
    await res.body?.cancel();
    if (res.status === 401) resourceMetadataUrl = extractWWWAuthenticateParams(res).resourceMetadataUrl;
  } catch (err) {
    throw new LoopIqError('network', `Could not reach LoopIQ at ${new URL(apiUrl).origin} (${(err as Error).message}).`, `Check your network and ${kind === 'api' ? '--api-url' : '--mcp-url'}; \`loopiq-mcp doctor\` checks them.`);
  }
  if (resourceMetadataUrl) {
    secureUrl(resourceMetadataUrl.href, 'resource_metadata in WWW-Authenticate');
    if (resourceMetadataUrl.origin !== new URL(apiUrl).origin) {
      throw noOAuth(apiUrl, `its 401 names resource metadata on another origin (${resourceMetadataUrl.origin})`);
    }
  }

  // 2. RFC 9728 Protected Resource Metadata (the well-known URL when the 401 named none).
  let prm;
  try {
    prm = await discoverOAuthProtectedResourceMetadata(apiUrl, resourceMetadataUrl ? { resourceMetadataUrl } : {}, fetchFn);
  } catch (err) {
    throw noOAuth(apiUrl, `no protected resource metadata (${(err as Error).message})`);
  }
  if (!resourceMatches(prm.resource, apiUrl)) throw noOAuth(apiUrl, `its metadata names another resource (${prm.resource})`);
  const issuer = prm.authorization_servers?.[0];
  if (!issuer) throw noOAuth(apiUrl, 'its metadata names no authorization server');
  secureUrl(issuer, 'the authorization server');

  // 3. RFC 8414, then OpenID Connect discovery (the MCP spec's order). processDiscoveryResponse
  // checks that the metadata names exactly the issuer we asked (RFC 8414 §3.3: no mix-up).
  const metadata = (await authorizationServerMetadata(new URL(issuer), fetchFn).catch((err: unknown) => {
    throw noOAuth(apiUrl, `the authorization server ${issuer} did not give its metadata (${err instanceof Error ? err.message : String(err)})`);
  })) as unknown as AuthorizationServerMetadata;
  for (const key of ['authorization_endpoint', 'token_endpoint', 'registration_endpoint', 'revocation_endpoint'] as const) {
    const value = (metadata as Record<string, unknown>)[key];
    if (typeof value === 'string') secureUrl(value, `the authorization server's ${key}`);
  }
  const deviceEndpoint = (metadata as Record<string, unknown>).device_authorization_endpoint;
  if (typeof deviceEndpoint === 'string') secureUrl(deviceEndpoint, "the authorization server's device_authorization_endpoint");
  return { resource: prm.resource, issuer: metadata.issuer, metadata, scopes: prm.scopes_supported ?? [] };
}

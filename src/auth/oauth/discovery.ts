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
import { api } from '../../api/contract.js';
import { LoopIqError } from '../../api/errors.js';
import { secureUrl } from '../../util/loopback.js';

export interface AuthServer {
  /** The RFC 8707 resource indicator: the protected resource's identifier from its metadata. */
  resource: string;
  issuer: string;
  metadata: AuthorizationServerMetadata;
  /** Scopes the resource says it understands (requested at login). */
  scopes: string[];
}

const noOAuth = (apiUrl: string, why: string) =>
  new LoopIqError(
    'config_invalid',
    `The LoopIQ API at ${apiUrl} does not offer OAuth login: ${why}.`,
    'Log in with an API token instead (`loopiq-mcp login`), or check --api-url.',
  );

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
  const options = { [oauth.customFetch]: fetchFn, [oauth.allowInsecureRequests]: issuer.protocol === 'http:' };
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

export async function discoverAuthServer(apiUrl: string, fetchFn: typeof fetch = fetch): Promise<AuthServer> {
  // 1. An unauthenticated request: a 401 may point at the metadata (MCP spec: preferred source).
  let resourceMetadataUrl: URL | undefined;
  try {
    const probe = await fetchFn(new URL(apiUrl.replace(/\/+$/, '') + api.me().path), { headers: { accept: 'application/json' } });
    await probe.body?.cancel();
    if (probe.status === 401) resourceMetadataUrl = extractWWWAuthenticateParams(probe).resourceMetadataUrl;
  } catch (err) {
    throw new LoopIqError('network', `Could not reach LoopIQ at ${new URL(apiUrl).origin} (${(err as Error).message}).`, 'Check your network and --api-url; `loopiq-mcp doctor` checks them.');
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
  const metadata = (await authorizationServerMetadata(new URL(issuer), fetchFn).catch((err: Error) => {
    throw noOAuth(apiUrl, `the authorization server ${issuer} did not give its metadata (${err.message})`);
  })) as unknown as AuthorizationServerMetadata;
  for (const key of ['authorization_endpoint', 'token_endpoint', 'registration_endpoint', 'revocation_endpoint'] as const) {
    const value = (metadata as Record<string, unknown>)[key];
    if (typeof value === 'string') secureUrl(value, `the authorization server's ${key}`);
  }
  const deviceEndpoint = (metadata as Record<string, unknown>).device_authorization_endpoint;
  if (typeof deviceEndpoint === 'string') secureUrl(deviceEndpoint, "the authorization server's device_authorization_endpoint");
  return { resource: prm.resource, issuer: metadata.issuer, metadata, scopes: prm.scopes_supported ?? [] };
}

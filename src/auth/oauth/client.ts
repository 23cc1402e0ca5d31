/**
 * The OAuth client for one login: a pre-registered client id (`--client-id`,
 * LOOPIQ_OAUTH_CLIENT_ID) or one registered on the spot (RFC 7591, through the MCP SDK), wrapped
 * in an openid-client Configuration, which performs the grants.
 */
import { registerClient } from '@modelcontextprotocol/sdk/client/auth.js';
import * as oidc from 'openid-client';
import { LoopIqError } from '../../api/errors.js';
import { isLoopbackHost } from '../../util/loopback.js';
import { VERSION } from '../../version.js';
import type { AuthServer } from './discovery.js';

export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

export type Flow = 'web' | 'device';

/** Plain http is allowed to loopback only (checked at discovery); tell openid-client so. */
export function configuration(server: oidc.ServerMetadata, clientId: string): oidc.Configuration {
  const config = new oidc.Configuration(server, clientId, { token_endpoint_auth_method: 'none' }, oidc.None());
  if (new URL(server.issuer).protocol === 'http:' && isLoopbackHost(new URL(server.issuer).hostname)) {
    // eslint-disable-next-line @typescript-eslint/no-deprecated -- deprecated only as a warning sign; used for loopback issuers alone (the sandbox), never a remote one
    oidc.allowInsecureRequests(config);
  }
  return config;
}

export async function oauthClient(
  server: AuthServer,
  opts: { clientId?: string | undefined; flow: Flow; redirectUri?: string; fetchFn?: typeof fetch },
): Promise<{ config: oidc.Configuration; clientId: string; registered: boolean }> {
  const metadata = server.metadata as unknown as oidc.ServerMetadata;
  if (opts.flow === 'device' && !(server.metadata as { device_authorization_endpoint?: string }).device_authorization_endpoint) {
    throw new LoopIqError('config_invalid', `The authorization server ${server.issuer} does not offer the device flow.`, 'Use `loopiq-mcp login --web` (add --no-browser on a machine without one).');
  }
  if (opts.clientId) return { config: configuration(metadata, opts.clientId), clientId: opts.clientId, registered: false };
  if (!server.metadata.registration_endpoint) {
    throw new LoopIqError(
      'config_invalid',
      `The authorization server ${server.issuer} does not offer dynamic client registration, and no client id was given.`,
      'Ask your LoopIQ administrator for the OAuth client id registered for loopiq-mcp and pass it with --client-id (or LOOPIQ_OAUTH_CLIENT_ID).',
    );
  }
  const grantTypes = opts.flow === 'web' ? ['authorization_code', 'refresh_token'] : [DEVICE_CODE_GRANT, 'refresh_token'];
  let info;
  try {
    info = await registerClient(server.issuer, {
      metadata: server.metadata,
      clientMetadata: {
        client_name: 'loopiq-mcp',
        software_id: 'loopiq-mcp',
        software_version: VERSION,
        redirect_uris: opts.redirectUri ? [opts.redirectUri] : [],
        grant_types: grantTypes,
        response_types: opts.flow === 'web' ? ['code'] : [],
        token_endpoint_auth_method: 'none',
        ...(server.scopes.length ? { scope: server.scopes.join(' ') } : {}),
        // RFC 8252: a native app (loopback redirect on any port).
        ...({ application_type: 'native' } as object),
      },
      ...(opts.fetchFn ? { fetchFn: opts.fetchFn } : {}),
    });
  } catch (err) {
    throw new LoopIqError('bad_response', `Registering loopiq-mcp as an OAuth client at ${server.issuer} failed: ${(err as Error).message}`, 'Pass a pre-registered client id with --client-id (or LOOPIQ_OAUTH_CLIENT_ID), or ask your LoopIQ administrator.');
  }
  return { config: configuration(metadata, info.client_id), clientId: info.client_id, registered: true };
}

/**
 * The sandbox's authorization server: a real, certified OpenID provider (oidc-provider by panva)
 * on a loopback port, configured the way the MCP authorization spec expects of LoopIQ — dynamic
 * client registration, PKCE S256, device flow, resource indicators, rotating refresh tokens,
 * revocation — in front of the fake LoopIQ API as the resource server. `loopiq-mcp sandbox --oauth`
 * and the OAuth tests run it, so `login --web` / `login --device` can be tried without an account.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import Provider, { errors, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import { FakeLoopIq, startSandbox, type RunningSandbox, type SandboxOptions } from './fake-loopiq.js';
import type { McpOAuthGuard } from './mcp-endpoint.js';
import { USERS } from './seed.js';

/** The scope of the LoopIQ API (the only resource this authorization server knows). */
export const SANDBOX_OAUTH_SCOPE = 'loopiq';
const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const MCP_PATH = '/mcp';

export interface OAuthSandboxOptions extends SandboxOptions {
  port?: number;
  oauthPort?: number;
  /** Access token lifetime in seconds (default 3600; tests use a few seconds). */
  accessTokenTtl?: number;
  /** The `interval` the device authorization response advertises, in seconds (default 5). */
  deviceInterval?: number;
  /** How long a device code lives, in seconds (default 600). */
  deviceCodeTtl?: number;
}

/** One request to the token or revocation endpoint, as the authorization server saw it. */
export interface TokenEndpointEvent {
  endpoint: 'token' | 'revocation' | 'device_authorization' | 'registration';
  grantType?: string;
  status: number;
  error?: string;
  at: number;
}

export interface RunningOAuthSandbox {
  /** The resource server (fake LoopIQ API). */
  api: RunningSandbox;
  /** The authorization server's issuer URL. */
  issuer: string;
  provider: Provider;
  events: TokenEndpointEvent[];
  /** Answer the next n device-code polls with `slow_down` (to test the client's back-off). */
  slowDownNext(n: number): void;
  close(): Promise<void>;
}

/** Sandbox users by their login name at the provider (`alex`, `sam`). */
function sandboxUser(login: string) {
  return USERS.find((u) => u.id === login || u.id === `usr_${login}`);
}

/** The fake API as an OAuth resource server: RFC 9728 metadata, WWW-Authenticate, token introspection. */
class OAuthResourceServer extends FakeLoopIq {
  provider?: Provider;
  issuer = '';
  private readonly oauthTokens = new Set<string>();

  private resourceMetadataUrl() {
    return `${this.baseUrl}/.well-known/oauth-protected-resource`;
  }

  /** The MCP endpoint's resource identifier (its URL, as the MCP authorization spec names it). */
  mcpResource() {
    return `${this.baseUrl}${MCP_PATH}`;
  }

  /** The hosted-style MCP endpoint as a second protected resource of the same authorization server. */
  mcpGuard(): McpOAuthGuard {
    return { resourceMetadataUrl: `${this.baseUrl}/.well-known/oauth-protected-resource${MCP_PATH}`, admit: (token) => this.admit(token, this.mcpResource()) };
  }

  override async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://sandbox').pathname;
    // RFC 9728 §3.1: the API's metadata at the root, the MCP endpoint's under its path.
    const described = path === '/.well-known/oauth-protected-resource' ? 'api' : path === `/.well-known/oauth-protected-resource${MCP_PATH}` ? 'mcp' : undefined;
    if (req.method === 'GET' && described) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          resource: described === 'api' ? this.baseUrl : this.mcpResource(),
          authorization_servers: [this.issuer],
          scopes_supported: [SANDBOX_OAUTH_SCOPE],
          bearer_methods_supported: ['header'],
          resource_name: described === 'api' ? 'LoopIQ sandbox API' : 'LoopIQ sandbox hosted MCP endpoint',
        }),
      );
      return;
    }
    const writeHead = res.writeHead.bind(res) as (...a: unknown[]) => ServerResponse;
    res.writeHead = ((status: number, ...rest: unknown[]) => {
      if (status === 401) res.setHeader('www-authenticate', `Bearer resource_metadata="${this.resourceMetadataUrl()}"`);
      return writeHead(status, ...rest);
    });
    await this.admit(/^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1], this.baseUrl);
    return super.handle(req, res);
  }

  /**
   * Introspection, in process: an access token is valid while the provider still holds it (not
   * expired, not revoked) and it was issued for `audience` (the resource indicator of the API or of
   * the MCP endpoint: a token for one is refused by the other). Valid tokens are entered in the
   * fake's token table for the request; others are taken out. Undefined: not an OAuth token (the
   * sandbox's demo tokens), left to the usual check.
   */
  async admit(token: string | undefined, audience: string): Promise<boolean | undefined> {
    if (!token || !this.provider || (this.tokens.has(token) && !this.oauthTokens.has(token))) return undefined;
    const at = await this.provider.AccessToken.find(token).catch(() => undefined);
    const user = at?.accountId ? sandboxUser(at.accountId) : undefined;
    if (!at || !user || at.aud !== audience) {
      this.tokens.delete(token);
      this.oauthTokens.delete(token);
      return false;
    }
    if (!this.tokens.has(token)) {
      this.issueToken(user.id, { token, name: `OAuth (${at.clientId ?? '?'})`, expiresInMs: (at.exp ?? 0) * 1000 - Date.now(), scopes: (at.scope ?? '').split(' ').filter(Boolean) });
      this.oauthTokens.add(token);
    }
    return true;
  }
}

export async function startOAuthSandbox(options: OAuthSandboxOptions = {}): Promise<RunningOAuthSandbox> {
  const fake = new OAuthResourceServer(options);
  const api = await startSandbox({ ...options, fake, ...(options.port !== undefined ? { port: options.port } : {}) });
  const events: TokenEndpointEvent[] = [];
  let slowDowns = 0;

  const sockets = new Set<Socket>();
  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.writeHead(503).end();
  const server: Server = createServer((req, res) => {
    handler(req, res);
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.oauthPort ?? 0, '127.0.0.1', () => {
      resolve();
    });
  });
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const resource = api.url;
  const ttl = options.accessTokenTtl ?? 3600;

  const configuration: Configuration = {
    clients: [],
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    // Keys of its own (not oidc-provider's published development keys, which anyone could sign with).
    jwks: { keys: [{ ...generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }), kid: randomBytes(8).toString('hex'), alg: 'ES256', use: 'sig' }] as never },
    enabledJWA: { idTokenSigningAlgValues: ['ES256'] } as never,
    scopes: ['openid', 'offline_access', SANDBOX_OAUTH_SCOPE],
    pkce: { methods: ['S256'], required: () => true },
    features: {
      // The provider's own login and consent pages (any password; the login name picks the
      // sandbox user: alex or sam). Plain, unstyled HTML a test can walk through.
      devInteractions: { enabled: true },
      registration: { enabled: true },
      revocation: { enabled: true },
      deviceFlow: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => resource,
        useGrantedResource: () => true,
        // Two resources: the REST API and the hosted-style MCP endpoint; each token is for one of them.
        getResourceServerInfo: (_ctx, indicator) => {
          if (indicator !== resource && indicator !== fake.mcpResource()) throw new errors.InvalidTarget(`unknown resource ${indicator}`);
          return { scope: SANDBOX_OAUTH_SCOPE, audience: indicator, accessTokenTTL: ttl, accessTokenFormat: 'opaque' };
        },
      },
    },
    clientDefaults: { grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], token_endpoint_auth_method: 'none', id_token_signed_response_alg: 'ES256' },
    // Refresh tokens for every client allowed to use them; each use rotates it (the old one is
    // consumed, and using a consumed one revokes the whole grant).
    issueRefreshToken: (_ctx, client) => Promise.resolve(client.grantTypeAllowed('refresh_token')),
    rotateRefreshToken: true,
    ttl: { AccessToken: ttl, RefreshToken: 14 * 86_400, DeviceCode: options.deviceCodeTtl ?? 600, Grant: 14 * 86_400, Interaction: 3600, Session: 86_400 },
    findAccount: (_ctx, id) => {
      const user = sandboxUser(id);
      return Promise.resolve(user ? { accountId: id, claims: () => ({ sub: id, email: user.email, name: user.name }) } : undefined);
    },
    loadExistingGrant: async (ctx) => {
      // Consent given once (per client and user) is remembered, as real servers do.
      const clientId = ctx.oidc.client?.clientId;
      const grantId = ctx.oidc.result?.consent?.grantId || (clientId ? ctx.oidc.session?.grantIdFor(clientId) : undefined);
      return grantId ? ctx.oidc.provider.Grant.find(grantId) : undefined;
    },
  };
  const provider = new Provider(issuer, configuration);
  // Records what the token, revocation, registration and device endpoints answered (for tests and
  // the sandbox log), advertises the configured device polling interval, and injects slow_down.
  provider.use(async (ctx: KoaContextWithOIDC, next) => {
    const path = ctx.path;
    if (path === '/token' && slowDowns > 0) {
      await parseForm(ctx);
      const body = (ctx.req as { loopiqForm?: URLSearchParams }).loopiqForm;
      if (body?.get('grant_type') === DEVICE_CODE_GRANT) {
        slowDowns--;
        ctx.status = 400;
        ctx.body = { error: 'slow_down', error_description: 'you are polling too quickly' };
        events.push({ endpoint: 'token', grantType: DEVICE_CODE_GRANT, status: 400, error: 'slow_down', at: Date.now() });
        return;
      }
    }
    await next();
    const endpoint =
      path === '/token' ? 'token' : path === '/token/revocation' ? 'revocation' : path === '/device/auth' ? 'device_authorization' : path === '/reg' ? 'registration' : undefined;
    if (!endpoint) return;
    if (endpoint === 'device_authorization' && ctx.status === 200 && ctx.body && typeof ctx.body === 'object' && options.deviceInterval) {
      (ctx.body as Record<string, unknown>).interval = options.deviceInterval;
    }
    // Typed as always there, but absent when the request failed before the provider set it up.
    const oidcContext = ctx.oidc as KoaContextWithOIDC['oidc'] | undefined;
    const params = (oidcContext?.params ?? {}) as { grant_type?: string };
    const error = ctx.status >= 400 && ctx.body && typeof ctx.body === 'object' ? String((ctx.body as { error?: string }).error) : undefined;
    events.push({ endpoint, ...(params.grant_type ? { grantType: params.grant_type } : {}), status: ctx.status, ...(error ? { error } : {}), at: Date.now() });
  });
  provider.on('server_error', (_ctx: unknown, err: Error) => process.stderr.write(`sandbox authorization server error: ${err.message}\n`));
  fake.provider = provider;
  fake.issuer = issuer;
  api.mcp.oauth = fake.mcpGuard();
  const callback = provider.callback();
  handler = (req, res) => void callback(req, res);

  return {
    api,
    issuer,
    provider,
    events,
    slowDownNext: (n) => (slowDowns = n),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
      await api.close();
    },
  };
}

/** Reads the form body (for the slow_down fault) and leaves it as `req.body`, where the provider's parser looks for an already-read body. */
async function parseForm(ctx: KoaContextWithOIDC) {
  const req = ctx.req as IncomingMessage & { loopiqForm?: URLSearchParams; body?: string };
  if (req.loopiqForm) return;
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  req.body = Buffer.concat(chunks).toString('utf8');
  req.loopiqForm = new URLSearchParams(req.body);
}

export { DEVICE_CODE_GRANT };

/** `loopiq-mcp sandbox --oauth`: the fake API plus its authorization server, until Ctrl-C. */
export async function runOAuthSandbox(opts: { port?: string; oauthPort?: string }, out: { write(s: string): unknown } = process.stdout): Promise<number> {
  const s = await startOAuthSandbox({ port: opts.port ? Number(opts.port) : 8787, oauthPort: opts.oauthPort ? Number(opts.oauthPort) : 8788 });
  out.write(
    [
      `SANDBOX LoopIQ API at ${s.api.url} (fake data; Ctrl-C to stop)`,
      `SANDBOX OAuth authorization server at ${s.issuer} (any password; log in as alex or sam)`,
      '',
      'Try:',
      `  export LOOPIQ_API_URL=${s.api.url}`,
      '  loopiq-mcp login --web            # or --device, or --web --no-browser',
      '  loopiq-mcp status',
      `  loopiq-mcp login --mcp-url ${s.api.url}${MCP_PATH} --web   # the hosted-style MCP endpoint, same login`,
      '',
    ].join('\n'),
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await s.close();
  return 0;
}

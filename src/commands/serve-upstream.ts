import { LoopIqError } from '../api/errors.js';
import { StaticTokenSource, type TokenSource } from '../auth/token-source.js';
import { createTokenSource } from '../auth/tokens.js';
import { HostedMcp, McpBackend } from '../backend/hosted-mcp.js';
import { UpstreamCatalog } from '../backend/upstream-catalog.js';
import { UpstreamOrg } from '../backend/upstream-org.js';
import { resolveSettings } from '../config/settings.js';
import { serverGate } from '../gate/stores.js';
import { orgSelection, type OrgRef } from '../server/org-scope.js';
import { endWithClient } from '../server/lifecycle.js';
import { serveStdio } from '../server/server.js';
import { createUpstreamServer } from '../server/upstream-server.js';
import { WarmUp } from '../server/warm-up.js';
import type { CodeCache } from '../launch/code-cache.js';
import { secureUrl } from '../util/loopback.js';
import { log } from '../util/log.js';
import { userAgent } from '../util/user-agent.js';
import type { ServeOptions } from './serve.js';

/** How often a down endpoint is tried again in the background. */
const RETRY_MS = 10_000;

/**
 * `serve --mcp-url`: a governed proxy for LoopIQ's hosted MCP endpoint (DESIGN.md §3b). Same
 * keychain token, same pinned org (sent as a header on every request and filled into org
 * arguments), same gate for every tool not marked read-only.
 */
export async function serveUpstream(opts: ServeOptions, env: NodeJS.ProcessEnv = process.env, codeCache?: CodeCache): Promise<void> {
  const settings = await resolveSettings(opts, env);
  let tokens: TokenSource;
  let closeSandbox: (() => Promise<void>) | undefined;
  let url: URL;
  let pinned = settings.pinnedOrg;
  if (opts.sandbox) {
    const { startSandbox } = await import('../sandbox/fake-loopiq.js');
    const { SANDBOX_TOKENS, SANDBOX_DEFAULT_ORG } = await import('../sandbox/seed.js');
    const sandbox = await startSandbox();
    closeSandbox = () => sandbox.close();
    url = new URL(`${sandbox.url}/mcp`);
    tokens = new StaticTokenSource('sandbox', SANDBOX_TOKENS.alex);
    pinned ??= { value: SANDBOX_DEFAULT_ORG, source: 'flag' };
    log.info(`SANDBOX: hosted-style MCP endpoint with demo data at ${url.href}; nothing real is read or written.`);
  } else {
    const raw = opts.mcpUrl ?? env.LOOPIQ_MCP_URL;
    if (!raw) throw new LoopIqError('config_invalid', 'No hosted MCP endpoint URL.', 'Use --mcp-url https://ai.loopiq.com/mcp (or set LOOPIQ_MCP_URL).');
    url = secureUrl(raw, opts.mcpUrl ? '--mcp-url' : 'LOOPIQ_MCP_URL');
    tokens = createTokenSource({ env, apiOrigin: url.origin, stateDir: settings.stateDir });
  }
  const endpoint = url.href;
  const selection = { ...(pinned ? { pinnedOrg: pinned } : {}), config: settings.config, apiOrigin: url.origin };
  const client: { name?: string; version?: string } = {};
  const mcp: HostedMcp = new HostedMcp({
    url: endpoint,
    tokens,
    org: (): Promise<string> => upstreamOrg.header(),
    userAgent: () => userAgent(client),
    env,
    onToolsChanged: () =>
      void catalog.refresh().catch((err: unknown) => {
        log.warn(`could not refresh the endpoint's tools: ${String(err)}`);
      }),
  });
  const catalog = new UpstreamCatalog(mcp, settings.stateDir, { ...(opts.tools ? { tools: opts.tools } : {}), ...(opts.excludeTools ? { excludeTools: opts.excludeTools } : {}), readOnly: settings.readOnly });
  await catalog.loadCache();
  const upstreamOrg: UpstreamOrg = new UpstreamOrg(() => orgSelection(selection), mcp, (signal) => catalog.liveAll(signal));
  const org = (signal?: AbortSignal): Promise<OrgRef> => upstreamOrg.current(signal);
  const gate = serverGate(settings, env, { backend: new McpBackend(mcp), apiOrigin: endpoint, currentOrg: org });
  // The warm-up is the first fetch of the endpoint's tools (started below, once serving).
  const first: { refresh?: Promise<void> } = {};
  const warmUp = new WarmUp(() => first.refresh ?? Promise.resolve(), codeCache);
  const server = createUpstreamServer({ mcp, catalog, gate, org, readOnly: settings.readOnly, onAnswer: warmUp.answered, ...(opts.sandbox ? { label: '[SANDBOX] ' } : {}) });
  server.oninitialized = () => {
    const info = server.getClientVersion();
    if (info) Object.assign(client, { name: info.name, version: info.version });
    warmUp.start();
  };

  // The cached list is served at once; the live one replaces it (and is retried while the endpoint is down).
  let retry: NodeJS.Timeout | undefined;
  const refresh = () =>
    catalog.refresh().then(
      () => {
        if (retry) clearInterval(retry);
        retry = undefined;
      },
      (err: unknown) => {
        log.warn(`hosted MCP endpoint not reachable yet (${err instanceof Error ? err.message : String(err)}); tools answer with this error until it is back`);
        retry ??= setInterval(() => void refresh(), Number(env.LOOPIQ_MCP_RETRY_MS) || RETRY_MS).unref();
      },
    );

  endWithClient([
    () => {
      if (retry) clearInterval(retry);
    },
    () => server.close(),
    () => mcp.close(),
    () => closeSandbox?.(),
  ]);
  // Upstream tool names change at run time: the server itself answers a call to an unknown one.
  await serveStdio(server, undefined);
  first.refresh = refresh();
  log.debug(`relaying ${endpoint}${settings.readOnly ? ' (read-only)' : ''}`);
}

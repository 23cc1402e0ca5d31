import { ApiClient } from '../api/client.js';
import { RestBackend } from '../backend/rest.js';
import { serverGate } from '../gate/stores.js';
import { resolveSettings, type GlobalFlags } from '../config/settings.js';
import { StaticTokenSource, type TokenSource } from '../auth/token-source.js';
import { createTokenSource } from '../auth/tokens.js';
import { endWithClient } from '../server/lifecycle.js';
import { OrgScope } from '../server/org-scope.js';
import { createMcpServer, serveStdio } from '../server/server.js';
import { WarmUp } from '../server/warm-up.js';
import type { CodeCache } from '../launch/code-cache.js';
import { selectTools, type ToolFilter } from '../tools/index.js';
import { log, routeConsoleToStderr } from '../util/log.js';
import { userAgent } from '../util/user-agent.js';

export interface ServeOptions extends GlobalFlags, ToolFilter {
  sandbox?: boolean;
  /** Approval channels in order (env LOOPIQ_CONFIRM). */
  confirm?: string;
  /** Relay LoopIQ's hosted MCP endpoint (env LOOPIQ_MCP_URL). */
  mcpUrl?: string;
  /** With `sandbox`: relay the sandbox's `/mcp`. */
  mcp?: boolean;
}

/** The stdio MCP server that desktop clients launch. Holds no ports (except the sandbox's loopback fake). */
export async function serve(opts: ServeOptions, env: NodeJS.ProcessEnv = process.env, codeCache?: CodeCache): Promise<void> {
  routeConsoleToStderr();
  if (opts.mcpUrl || env.LOOPIQ_MCP_URL || opts.mcp) return (await import('./serve-upstream.js')).serveUpstream(opts, env, codeCache);
  let settings = await resolveSettings(opts, env);
  // The endpoint stored by `login --mcp-url` (an explicit REST URL or the REST sandbox wins).
  const storedMcpUrl = opts.sandbox || opts.apiUrl || env.LOOPIQ_API_URL ? undefined : (await settings.config.read()).mcpUrl;
  if (storedMcpUrl) return (await import('./serve-upstream.js')).serveUpstream({ ...opts, mcpUrl: storedMcpUrl }, env, codeCache);
  const tools = selectTools({ ...opts, readOnly: settings.readOnly });
  let tokens: TokenSource;
  let closeSandbox: (() => Promise<void>) | undefined;
  if (opts.sandbox) {
    const { startSandbox } = await import('../sandbox/fake-loopiq.js');
    const { SANDBOX_TOKENS, SANDBOX_DEFAULT_ORG, SANDBOX_ORIGIN } = await import('../sandbox/seed.js');
    const sandbox = await startSandbox();
    closeSandbox = () => sandbox.close();
    settings = {
      ...settings,
      apiUrl: sandbox.url,
      apiOrigin: SANDBOX_ORIGIN,
      pinnedOrg: settings.pinnedOrg ?? { value: SANDBOX_DEFAULT_ORG, source: 'flag' },
    };
    tokens = new StaticTokenSource('sandbox', SANDBOX_TOKENS.alex);
    log.info(`SANDBOX: fake LoopIQ with demo data at ${sandbox.url}; nothing real is read or written.`);
  } else {
    tokens = createTokenSource(settings);
  }

  const client: { name?: string; version?: string } = {};
  const api = new ApiClient({
    baseUrl: settings.apiUrl,
    tokens,
    readOnly: settings.readOnly,
    userAgent: () => userAgent(client),
    env,
  });
  const scope = new OrgScope(api, settings);
  const gate = serverGate(settings, env, { backend: new RestBackend(api), apiOrigin: settings.apiOrigin, currentOrg: (signal) => scope.current(signal) });
  const warmUp = new WarmUp(() => scope.whoami(), codeCache);
  const server = createMcpServer({ api, scope, tools, gate, onAnswer: warmUp.answered, ...(opts.sandbox ? { label: '[SANDBOX] ' } : {}) });
  server.oninitialized = () => {
    const info = server.getClientVersion();
    if (info) Object.assign(client, { name: info.name, version: info.version });
    warmUp.start();
  };

  endWithClient([() => server.close(), () => api.close(), () => closeSandbox?.()]);
  await serveStdio(server, new Set(tools.map((t) => t.name)));
  log.debug(`serving ${tools.length} tools for ${settings.apiUrl}${settings.readOnly ? ' (read-only)' : ''}`);
}

import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { ApiClient } from '../api/client.js';
import { LoopIqError } from '../api/errors.js';
import { ApprovalStore } from '../gate/approvals.js';
import { AuditLog } from '../gate/audit.js';
import { closeDialogs } from '../gate/channels/dialog.js';
import { parseChannels, WriteGate } from '../gate/gate.js';
import { resolveSettings, type GlobalFlags } from '../config/settings.js';
import { StaticTokenSource, type TokenSource } from '../auth/token-source.js';
import { createTokenSource } from '../auth/tokens.js';
import { OrgScope } from '../server/org-scope.js';
import { createMcpServer } from '../server/server.js';
import { guardStdin } from '../server/stdin-guard.js';
import { warmUp } from '../server/warm-up.js';
import { selectTools, type ToolFilter } from '../tools/index.js';
import { log, routeConsoleToStderr } from '../util/log.js';
import { userAgent } from '../util/user-agent.js';

export interface ServeOptions extends GlobalFlags, ToolFilter {
  sandbox?: boolean;
  /** Approval channels in order (env LOOPIQ_CONFIRM). */
  confirm?: string;
}

const DEFAULT_CONFIRM_TIMEOUT_S = 300;

function confirmTimeoutMs(env: NodeJS.ProcessEnv): number {
  const raw = env.LOOPIQ_CONFIRM_TIMEOUT;
  if (raw === undefined) return DEFAULT_CONFIRM_TIMEOUT_S * 1000;
  const s = Number(raw);
  if (!Number.isFinite(s) || s <= 0 || s > 3600) {
    throw new LoopIqError('config_invalid', `LOOPIQ_CONFIRM_TIMEOUT=${raw} is not a number of seconds (1-3600).`, 'Set it to e.g. 300, or unset it.');
  }
  return s * 1000;
}

/** The stdio MCP server that desktop clients launch. Holds no ports (except the sandbox's loopback fake). */
export async function serve(opts: ServeOptions, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  routeConsoleToStderr();
  let settings = await resolveSettings(opts, env);
  const tools = selectTools({ ...opts, readOnly: settings.readOnly });
  const channels = parseChannels(opts.confirm ?? env.LOOPIQ_CONFIRM);
  const timeoutMs = confirmTimeoutMs(env);
  let tokens: TokenSource;
  let closeSandbox: (() => Promise<void>) | undefined;
  if (opts.sandbox) {
    const { startSandbox } = await import('../sandbox/fake-loopiq.js');
    const { SANDBOX_TOKENS, SANDBOX_DEFAULT_ORG } = await import('../sandbox/seed.js');
    const sandbox = await startSandbox();
    closeSandbox = sandbox.close;
    settings = {
      ...settings,
      apiUrl: sandbox.url,
      apiOrigin: sandbox.url,
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
  const gate = new WriteGate({
    api,
    audit: new AuditLog(settings.stateDir),
    approvals: new ApprovalStore(settings.stateDir),
    apiOrigin: settings.apiOrigin,
    channels,
    confirmTimeoutMs: timeoutMs,
    env,
    currentOrg: (signal) => scope.current(signal),
  });
  const server = createMcpServer({ api, scope, tools, gate, ...(opts.sandbox ? { label: '[SANDBOX] ' } : {}) });
  server.server.oninitialized = () => {
    const info = server.server.getClientVersion();
    if (info) Object.assign(client, { name: info.name, version: info.version });
    warmUp(scope);
  };

  let closing = false;
  const shutdown = async (why: string) => {
    if (closing) return;
    closing = true;
    log.debug(`shutting down (${why})`);
    await closeDialogs();
    await server.close().catch(() => {});
    await api.close().catch(() => {});
    await closeSandbox?.().catch(() => {});
    process.exit(0);
  };
  process.stdin.on('end', () => void shutdown('stdin closed'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('unhandledRejection', (reason) => log.error(`unhandled rejection: ${reason instanceof Error ? reason.stack : String(reason)}`));

  const transport = new StdioServerTransport(guardStdin(process.stdin, (line) => process.stdout.write(line)), process.stdout);
  transport.onerror = (err) => log.warn(`ignored malformed input on stdin: ${err.message}`);
  await server.connect(transport);
  log.debug(`serving ${tools.length} tools for ${settings.apiUrl}${settings.readOnly ? ' (read-only)' : ''}`);
}

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { ClientCapabilities } from '@modelcontextprotocol/sdk/types.js';
import { ApiClient } from '../../src/api/client.js';
import { StaticTokenSource } from '../../src/auth/token-source.js';
import { ConfigFile } from '../../src/config/config-file.js';
import { startSandbox, type SandboxOptions } from '../../src/sandbox/fake-loopiq.js';
import { SANDBOX_TOKENS } from '../../src/sandbox/seed.js';
import { OrgScope } from '../../src/server/org-scope.js';
import { createMcpServer } from '../../src/server/server.js';
import type { ToolDef } from '../../src/tools/define.js';
import { ALL_TOOLS } from '../../src/tools/index.js';
import { gateStores } from '../../src/gate/stores.js';
import { WriteGate, type ChannelName } from '../../src/gate/gate.js';
import { tempHome } from './cli.js';

export interface InProcessOptions extends SandboxOptions {
  org?: string;
  token?: string;
  tools?: ToolDef[];
  capabilities?: ClientCapabilities;
  channels?: ChannelName[];
  confirmTimeoutMs?: number;
  waitMs?: number;
  attemptMs?: number;
  gateEnv?: NodeJS.ProcessEnv;
}

interface Org {
  id: string;
  slug: string;
  name: string;
}

/** A record as a tool returns it: the fields tests read by name, the rest unknown. */
export interface ToolRecord {
  [field: string]: unknown;
  id: string;
  organizationId: string;
}

/**
 * structuredContent as the tests read it. The tools' output schemas define it; `call` checks
 * nothing, so a field a tool did not send is simply missing and the assertion on it fails.
 */
export interface Structured {
  [field: string]: unknown;
  organization: Org;
  organizations: Org[];
  items: ToolRecord[];
  record: ToolRecord;
  nextCursor: string | null;
  error: { fieldErrors: unknown };
}

/** The real server and a real SDK client in one process, against the sandbox on a real port. */
export async function connectInProcess(opts: InProcessOptions = {}) {
  const sandbox = await startSandbox(opts);
  const home = tempHome();
  const config = new ConfigFile(home.env.LOOPIQ_CONFIG_DIR);
  const api = new ApiClient({
    baseUrl: sandbox.url,
    tokens: new StaticTokenSource('env', opts.token ?? SANDBOX_TOKENS.alex),
    userAgent: () => 'loopiq-mcp/test',
    retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 5 },
  });
  const scope = new OrgScope(api, {
    ...(opts.org ? { pinnedOrg: { value: opts.org, source: 'flag' as const } } : {}),
    config,
    apiOrigin: sandbox.url,
  });
  const gateEnv: NodeJS.ProcessEnv = opts.gateEnv ?? { PATH: process.env.PATH, LOOPIQ_GATE_SECRETS: 'file' };
  const stores = gateStores(home.env.LOOPIQ_STATE_DIR, gateEnv);
  const gate = new WriteGate({
    api,
    audit: stores.audit,
    approvals: stores.approvals,
    apiOrigin: sandbox.url,
    channels: opts.channels ?? ['elicitation', 'terminal'],
    confirmTimeoutMs: opts.confirmTimeoutMs ?? 5_000,
    waitMs: opts.waitMs ?? opts.confirmTimeoutMs ?? 5_000,
    attemptMs: opts.attemptMs ?? 10_000,
    requester: [],
    env: gateEnv,
    currentOrg: (signal) => scope.current(signal),
  });
  const server = createMcpServer({ api, scope, tools: opts.tools ?? ALL_TOOLS, gate });
  const client = new Client({ name: 'in-process', version: '0' }, { capabilities: opts.capabilities ?? {} });
  const [a, b] = InMemoryTransport.createLinkedPair();
  await Promise.all([server.connect(a), client.connect(b)]);
  return {
    client,
    sandbox,
    fake: sandbox.fake,
    config,
    home,
    gate,
    audit: stores.audit,
    approvals: stores.approvals,
    stores,
    async call(name: string, args: Record<string, unknown> = {}) {
      return (await client.callTool({ name, arguments: args })) as {
        isError?: boolean;
        content: { type: string; text: string }[];
        structuredContent?: Structured;
      };
    },
    async close() {
      await client.close();
      await server.close();
      await api.close();
      await sandbox.close();
    },
  };
}

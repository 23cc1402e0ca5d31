import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import { McpError, ToolListChangedNotificationSchema, type CallToolResult, type Tool } from '@modelcontextprotocol/sdk/types.js';
import type { Dispatcher } from 'undici';
import type { TokenSource } from '../auth/token-source.js';
import { createDispatcher, loadUndici } from '../api/client.js';
import { HEADERS } from '../api/contract.js';
import { LoopIqError, toLoopIqError } from '../api/errors.js';
import { isMcpCall, jsonCopy, type ExactRequest, type McpCall, type StoredRequest } from '../gate/request.js';
import { log } from '../util/log.js';
import { addSecret, redact } from '../util/redact.js';
import { sanitizeText } from '../util/untrusted.js';
import { VERSION } from '../version.js';
import { resultIds, type SendOptions, type Sent, type WriteBackend, type WriteProposal } from './backend.js';
import { GATE_PROPERTIES, relayResult, withoutKeys } from './relay.js';

export interface HostedMcpOptions {
  url: string;
  tokens: TokenSource;
  /** The pinned org id, sent as `LoopIQ-Organization` on every HTTP request (undefined: none selected yet, `login` only). */
  org: () => Promise<string | undefined>;
  userAgent: () => string;
  env?: NodeJS.ProcessEnv;
  dispatcher?: Dispatcher;
  /** The endpoint said its tool list changed. */
  onToolsChanged?: () => void;
  retry?: { attempts: number; baseDelayMs: number };
  /** One tool call, all retries included. */
  timeoutMs?: number;
}

interface Connection {
  client: Client;
  org: string | undefined;
}

/**
 * A client of LoopIQ's hosted MCP endpoint over streamable HTTP. Every HTTP request (POST, the
 * notification stream, DELETE) goes through the project's undici dispatcher (proxies, CAs) with
 * the bearer token and the pinned org. One session per org; a lost session is reopened.
 */
export class HostedMcp {
  private conn: Promise<Connection> | undefined;
  private dispatcher?: Promise<Dispatcher>;
  readonly url: URL;
  readonly origin: string;

  constructor(private readonly opts: HostedMcpOptions) {
    this.url = new URL(opts.url);
    this.origin = this.url.origin;
    if (opts.dispatcher) this.dispatcher = Promise.resolve(opts.dispatcher);
  }

  private fetchFor(org: string | undefined): FetchLike {
    return async (url, init) => {
      const [{ fetch }, dispatcher] = await Promise.all([loadUndici(), (this.dispatcher ??= createDispatcher(this.opts.env))]);
      let token = await this.opts.tokens.get();
      addSecret(token);
      for (let reloaded = false; ; reloaded = true) {
        const headers = new Headers(init?.headers);
        headers.set(HEADERS.authorization, `Bearer ${token}`);
        if (org !== undefined) headers.set(HEADERS.organization, org);
        else headers.delete(HEADERS.organization);
        headers.set(HEADERS.userAgent, this.opts.userAgent());
        const res = await fetch(url, { ...(init as object), headers, dispatcher } as Parameters<typeof fetch>[1]);
        if (res.status === 401 && !reloaded) {
          const fresh = await this.opts.tokens.reload();
          if (fresh && fresh !== token) {
            token = fresh;
            addSecret(token);
            await res.body?.cancel().catch(() => {});
            continue;
          }
        }
        return res as unknown as Response;
      }
    };
  }

  private connect(): Promise<Connection> {
    if (!this.conn) {
      this.conn = (async () => {
        const org = await this.opts.org();
        const client = new Client({ name: 'loopiq-mcp', version: VERSION }, { capabilities: {} });
        client.setNotificationHandler(ToolListChangedNotificationSchema, () => this.opts.onToolsChanged?.());
        const transport = new StreamableHTTPClientTransport(this.url, { fetch: this.fetchFor(org), reconnectionOptions: { maxReconnectionDelay: 30_000, initialReconnectionDelay: 1_000, reconnectionDelayGrowFactor: 1.5, maxRetries: 2 } });
        client.onclose = () => {
          if (this.conn && current === this.conn) this.conn = undefined;
        };
        await client.connect(transport, { timeout: this.opts.timeoutMs ?? 30_000 });
        return { client, org };
      })();
      const current = this.conn;
      current.catch(() => {
        if (this.conn === current) this.conn = undefined;
      });
    }
    return this.conn;
  }

  /** Drop the session (it is reopened on the next call). */
  async reset() {
    const c = this.conn;
    this.conn = undefined;
    const conn = await c?.catch(() => undefined);
    await conn?.client.close().catch(() => {});
  }

  private async session(): Promise<Connection> {
    const org = await this.opts.org();
    let c = await this.connect();
    if (c.org !== org) {
      // `use-org` in a terminal: a session belongs to one org.
      await this.reset();
      c = await this.connect();
    }
    return c;
  }

  async listTools(signal?: AbortSignal): Promise<Tool[]> {
    return this.withRetry(true, async () => {
      const { client } = await this.session();
      const tools: Tool[] = [];
      let cursor: string | undefined;
      do {
        const page = await client.listTools(cursor ? { cursor } : {}, { timeout: this.opts.timeoutMs ?? 30_000, ...(signal ? { signal } : {}) });
        tools.push(...page.tools);
        cursor = page.nextCursor;
      } while (cursor && tools.length < 2_000);
      return tools;
    });
  }

  /**
   * One tool call. `retrySafe`: the call may be repeated after a lost answer (a read, a dry run, a
   * write carrying its idempotency key); otherwise only failures that prove nothing was received
   * (connection refused, a closed session) are retried.
   */
  async callTool(name: string, args: Record<string, unknown>, retrySafe: boolean, signal?: AbortSignal): Promise<CallToolResult> {
    return this.withRetry(retrySafe, async () => {
      const { client } = await this.session();
      return (await client.callTool({ name, arguments: args }, undefined, { timeout: this.opts.timeoutMs ?? 60_000, ...(signal ? { signal } : {}) })) as CallToolResult;
    });
  }

  private async withRetry<T>(retrySafe: boolean, once: () => Promise<T>): Promise<T> {
    const { attempts, baseDelayMs } = this.opts.retry ?? { attempts: 3, baseDelayMs: 250 };
    for (let attempt = 1; ; attempt++) {
      try {
        return await once();
      } catch (err) {
        const e = this.describe(err);
        const notReceived = e.code === 'network' && /ECONNREFUSED|session/i.test(e.message);
        const again = attempt < attempts && (e.retry === 'always' || (e.retry === 'if-safe' && (retrySafe || notReceived)));
        if (!again) throw e.error;
        log.debug(`hosted MCP: ${e.error.message}; retrying (attempt ${attempt + 1})`);
        if (e.resetSession) await this.reset();
        await new Promise((r) => setTimeout(r, baseDelayMs * 2 ** (attempt - 1)));
      }
    }
  }

  /** An SDK/transport failure as a LoopIqError, with whether a retry may help. */
  private describe(err: unknown): { error: LoopIqError; code: string; message: string; retry: 'never' | 'if-safe' | 'always'; resetSession: boolean } {
    const where = `the hosted MCP endpoint at ${this.url.href}`;
    const text = (s: string) => redact(sanitizeText(s)).slice(0, 300);
    const wrap = (code: LoopIqError['code'], message: string, hint: string, retry: 'never' | 'if-safe' | 'always', resetSession = false, status?: number) => ({
      error: new LoopIqError(code, message, hint, status !== undefined ? { status } : {}),
      code,
      message,
      retry,
      resetSession,
    });
    if (err instanceof LoopIqError) return { error: err, code: err.code, message: err.message, retry: 'never', resetSession: false };
    if (err instanceof StreamableHTTPError) {
      const status = err.code ?? -1;
      if (status === 401) return wrap('unauthenticated', `${where} refused the token (401).`, 'Run `loopiq-mcp login` (or set a valid LOOPIQ_TOKEN).', 'never', false, 401);
      if (status === 403) return wrap('forbidden', `${where} refused access (403): ${text(err.message)}`, 'Check that MCP is enabled for this organization and your role allows it.', 'never', false, 403);
      // 404 on a POST with a session id: the session is gone (the endpoint restarted). Nothing was run.
      if (status === 404) return wrap('network', `${where} lost the session (404).`, 'Try again.', 'always', true, 404);
      if ([429, 502, 503, 504].includes(status)) return wrap(status === 429 ? 'rate_limited' : 'unavailable', `${where} answered ${status}.`, 'Try again shortly.', 'if-safe', false, status);
      return wrap('internal', `${where} answered with an HTTP error: ${text(err.message)}`, 'Try again later; run `loopiq-mcp doctor` if it persists.', 'never', false, status);
    }
    if (err instanceof McpError) {
      if (err.code === -32001) return wrap('timeout', `${where} did not answer in time.`, 'Try again; run `loopiq-mcp doctor` if it persists.', 'if-safe');
      if (err.code === -32000 && /closed/i.test(err.message)) return wrap('network', `${where} closed the connection.`, 'Try again.', 'if-safe', true);
      return wrap('validation_failed', `${where} refused the request: ${text(err.message)}`, 'Check the arguments against the tool description.', 'never');
    }
    const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
    const detail = e.cause?.code ?? e.cause?.message ?? e.message ?? String(err);
    if (e.name === 'AbortError') return wrap('aborted', 'The call was cancelled.', '', 'never');
    return wrap(
      'network',
      `Could not reach ${where} (${text(detail)}).`,
      'Check the URL (--mcp-url / LOOPIQ_MCP_URL), your network and proxy (HTTPS_PROXY); `loopiq-mcp doctor` checks them. Tools keep answering and reconnect when it is back.',
      'if-safe',
      true,
    );
  }

  /** The endpoint's name and version, from `initialize`. */
  async serverInfo() {
    return (await this.session()).client.getServerVersion();
  }

  async close() {
    await this.reset();
    await (await this.dispatcher?.catch(() => undefined))?.close().catch(() => {});
  }
}

/** Writes through the hosted endpoint: preview = the same tool with `dryRun: true`; execute = the approved arguments (+ `idempotencyKey`). */
export class McpBackend implements WriteBackend {
  readonly kind = 'mcp' as const;

  constructor(private readonly mcp: HostedMcp) {}

  exact(proposal: WriteProposal, org: string): ExactRequest {
    if (!('mcp' in proposal)) {
      throw new LoopIqError('config_invalid', 'A REST write cannot be sent through the hosted MCP endpoint.', 'This is a bug in loopiq-mcp; please report it.');
    }
    const args = withoutKeys(jsonCopy(proposal.mcp.arguments), GATE_PROPERTIES);
    return { org, kind: 'mcp', tool: proposal.mcp.tool, arguments: args, hasDryRun: proposal.mcp.hasDryRun, hasIdempotencyKey: proposal.mcp.hasIdempotencyKey };
  }

  async preview(r: ExactRequest, o: SendOptions): Promise<Record<string, unknown>> {
    const call = asMcp(r);
    if (!call.hasDryRun) return { note: 'No preview: this tool has no dryRun option. Judge the payload below; it is sent exactly as shown.' };
    const res = relayResult(await this.mcp.callTool(call.tool, { ...call.arguments, dryRun: true }, true, o.signal), o.org);
    if (res.isError) throw new LoopIqError('validation_failed', `The endpoint refused the preview: ${res.errorText ?? 'no details'}`, 'Fix the arguments and propose the write again.');
    return { ...res.data, ...(res.withheld ? { withheldForeign: res.withheld } : {}) };
  }

  async execute(r: ExactRequest, idempotencyKey: string, o: SendOptions): Promise<Sent> {
    const call = asMcp(r);
    const args = call.hasIdempotencyKey ? { ...call.arguments, idempotencyKey } : call.arguments;
    const res = relayResult(await this.mcp.callTool(call.tool, args, call.hasIdempotencyKey, o.signal), o.org);
    if (res.isError) {
      throw new LoopIqError('validation_failed', `The endpoint answered the approved call with an error: ${res.errorText ?? 'no details'}`, 'Nothing may have been written; check in LoopIQ, then propose the write again if needed.');
    }
    return { status: null, data: res.data, ids: resultIds(res.data) };
  }

  retrySafe(r: StoredRequest): boolean {
    return isMcpCall(r) && r.hasIdempotencyKey;
  }
}

function asMcp(r: ExactRequest): McpCall {
  if (!isMcpCall(r)) throw toLoopIqError(new Error('a REST request reached the hosted MCP backend'));
  return r;
}

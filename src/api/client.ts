import { randomUUID } from 'node:crypto';
import type { Dispatcher } from 'undici';
import type { z } from 'zod';
import type { TokenSource } from '../auth/token-source.js';
import { HEADERS, type Endpoint, type HttpMethod } from './contract.js';
import { LoopIqError, errorFromProblem } from './errors.js';
import { log } from '../util/log.js';
import { mayHideText } from '../util/untrusted.js';

export interface ApiClientOptions {
  baseUrl: string;
  tokens: TokenSource;
  /** Evaluated per request: the MCP client's name is known only after `initialize`. */
  userAgent: () => string;
  /** Refuse every non-GET at the HTTP layer. */
  readOnly?: boolean;
  /** Per attempt: connect, headers and body timeouts of the connection pool. */
  timeoutMs?: number;
  /** For the whole call: no retry starts that would end after it. */
  deadlineMs?: number;
  retry?: RetryPolicy;
  dispatcher?: Dispatcher;
  env?: NodeJS.ProcessEnv;
}

export interface RetryPolicy {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export interface CallOptions {
  /** The pinned organization id; required for org-scoped endpoints. */
  org?: string;
  signal?: AbortSignal;
  /** One per tool call, kept across retries. */
  requestId?: string;
  idempotencyKey?: string;
  dryRun?: boolean;
  /** Override the endpoint's response schema (dry runs). */
  response?: z.ZodType;
  /** Told before each retry (tool calls turn it into a progress notification). */
  onRetry?: (why: string, attempt: number) => void;
}

export interface CallResult<T> {
  data: T;
  requestId: string;
  status: number;
  /** Records dropped because their organizationId was not the pinned org. */
  foreignDropped: number;
  /** Size of the response body, in characters. */
  size: number;
  /** The body had invisible/bidi characters or \u escapes that may hide them (see sanitize). */
  mayHideText: boolean;
}

const DEFAULT_RETRY: RetryPolicy = { attempts: 3, baseDelayMs: 200, maxDelayMs: 4_000 };
const RETRYABLE_STATUS = new Set([429, 502, 503, 504]);

/** undici is loaded on the first request, not at start: it costs ~100 ms to load (llhttp). */
let undici: Promise<typeof import('undici')> | undefined;
export const loadUndici = () =>
  // Bundled, the CommonJS package surfaces as a default export only.
  (undici ??= import('undici').then((m) => ('Agent' in m ? m : (m as unknown as { default: typeof m }).default)));

export const POOL_SIZE = 16;

/** Keep-alive agent; through HTTP(S)_PROXY when the environment sets one (NO_PROXY honoured). */
export async function createDispatcher(env: NodeJS.ProcessEnv = process.env, timeoutMs = 30_000): Promise<Dispatcher> {
  const { Agent, EnvHttpProxyAgent } = await loadUndici();
  const timeouts = { keepAliveTimeout: 30_000, headersTimeout: timeoutMs, bodyTimeout: timeoutMs, connect: { timeout: Math.min(10_000, timeoutMs) } };
  const proxied = env.HTTPS_PROXY || env.https_proxy || env.HTTP_PROXY || env.http_proxy;
  return proxied ? new EnvHttpProxyAgent({ ...timeouts, connections: POOL_SIZE }) : new Agent({ ...timeouts, connections: POOL_SIZE });
}

export class ApiClient {
  private dispatcher?: Promise<Dispatcher>;
  private readonly retry: RetryPolicy;
  readonly baseUrl: string;
  readonly origin: string;

  constructor(private readonly opts: ApiClientOptions) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.origin = new URL(this.baseUrl).origin;
    if (opts.dispatcher) this.dispatcher = Promise.resolve(opts.dispatcher);
    this.retry = opts.retry ?? DEFAULT_RETRY;
  }

  async call<R extends z.ZodType>(endpoint: Endpoint<R>, options: CallOptions = {}): Promise<z.infer<R>> {
    return (await this.callWithMeta(endpoint, options)).data;
  }

  async callWithMeta<R extends z.ZodType>(endpoint: Endpoint<R>, options: CallOptions = {}): Promise<CallResult<z.infer<R>>> {
    const method = endpoint.method;
    if (this.opts.readOnly && method !== 'GET') {
      throw new LoopIqError(
        'read_only',
        `Refused ${method} ${endpoint.path}: loopiq-mcp is running in read-only mode.`,
        'Restart without --read-only / LOOPIQ_READ_ONLY to allow approved writes.',
      );
    }
    if (endpoint.orgScoped && !options.org) {
      throw new LoopIqError('no_organization', 'No organization is selected for this request.', 'Run `loopiq-mcp use-org <id|slug>`.');
    }
    const requestId = options.requestId ?? randomUUID();
    // randomUUID draws from a cached entropy pool; randomBytes would make a syscall per call.
    const traceparent = `00-${randomUUID().replace(/-/g, '')}-${randomUUID().slice(0, 8)}${randomUUID().slice(0, 8)}-01`;
    const url = new URL(this.baseUrl + endpoint.path);
    for (const [k, v] of Object.entries(endpoint.query ?? {})) if (v !== undefined && v !== '') url.searchParams.set(k, String(v));
    if (options.dryRun) url.searchParams.set('dryRun', 'true');
    // Writes are retried only when a key makes the retry safe (a dry run changes nothing).
    const retryable = method === 'GET' || options.idempotencyKey !== undefined || options.dryRun === true;
    const body = endpoint.body === undefined ? undefined : JSON.stringify(endpoint.body);

    const deadline = Date.now() + (this.opts.deadlineMs ?? 60_000);
    return this.attempts(endpoint, options, { method, url, body, requestId, traceparent, retryable, deadline });
  }

  private async attempts<R extends z.ZodType>(
    endpoint: Endpoint<R>,
    options: CallOptions,
    req: { method: HttpMethod; url: URL; body: string | undefined; requestId: string; traceparent: string; retryable: boolean; deadline: number },
  ): Promise<CallResult<z.infer<R>>> {
    const { method, url, body, requestId, traceparent, retryable, deadline } = req;
    const signal = options.signal;
    /** Another attempt only if its backoff still ends before the call's deadline. */
    const mayRetry = (attempt: number, delayMs: number) => retryable && attempt < this.retry.attempts && Date.now() + delayMs < deadline;
    let token = await this.opts.tokens.get();
    let reloaded = false;
    for (let attempt = 1; ; attempt++) {
      const headers: Record<string, string> = {
        [HEADERS.authorization]: `Bearer ${token}`,
        [HEADERS.userAgent]: this.opts.userAgent(),
        [HEADERS.requestId]: requestId,
        [HEADERS.traceparent]: traceparent,
        accept: 'application/json, application/problem+json',
      };
      if (endpoint.orgScoped && options.org) headers[HEADERS.organization] = options.org;
      if (options.idempotencyKey) headers[HEADERS.idempotencyKey] = options.idempotencyKey;
      if (body !== undefined) headers['content-type'] = 'application/json';

      let status: number;
      let parsed: unknown;
      let text = '';
      let retryAfter: number | undefined;
      try {
        ({ status, parsed, retryAfter, text } = await this.send(method, url, headers, body, signal));
      } catch (err) {
        const e = this.transportError(err, method, url, requestId, signal);
        const delay = this.delay(attempt, undefined);
        if (e.code !== 'aborted' && mayRetry(attempt, delay)) {
          options.onRetry?.(e.code, attempt);
          await sleep(delay, signal);
          continue;
        }
        throw e;
      }

      if (status === 401 && !reloaded) {
        reloaded = true;
        const fresh = await this.opts.tokens.reload();
        if (fresh && fresh !== token) {
          token = fresh;
          attempt--;
          continue;
        }
      }
      if (status >= 400) {
        const delay = this.delay(attempt, retryAfter);
        if (RETRYABLE_STATUS.has(status) && mayRetry(attempt, delay)) {
          options.onRetry?.(`HTTP ${status}`, attempt);
          await sleep(delay, signal);
          continue;
        }
        const error = errorFromProblem(status, parsed, requestId, retryAfter);
        if (status === 401 && this.opts.tokens.kind === 'env') {
          throw new LoopIqError(error.code, error.message, 'LOOPIQ_TOKEN was rejected: set a valid token, or unset it to use the keychain (`loopiq-mcp login`).', error.extra);
        }
        throw error;
      }
      const schema = options.response ?? endpoint.response;
      const result = schema.safeParse(parsed);
      if (!result.success) {
        const issue = result.error.issues[0];
        const where = issue?.path.length ? issue.path.join('.') : '(root)';
        throw new LoopIqError(
          'bad_response',
          `LoopIQ sent an unexpected response for ${method} ${endpoint.path}: field \`${where}\`: ${issue?.message ?? 'invalid'}.`,
          'This usually means loopiq-mcp and the LoopIQ API disagree on the contract; update loopiq-mcp, or report it with the request id.',
          { status, requestId },
        );
      }
      const { data, foreignDropped } = endpoint.orgScoped && !options.dryRun ? pinToOrg(result.data, options.org!, requestId) : { data: result.data, foreignDropped: 0 };
      return { data: data as z.infer<R>, requestId, status, foreignDropped, size: text.length, mayHideText: mayHideText(text) };
    }
  }

  private async send(method: HttpMethod, url: URL, headers: Record<string, string>, body: string | undefined, signal: AbortSignal | undefined) {
    // Per-attempt limits are the dispatcher's connect/headers/body timeouts; `signal` is the MCP
    // client's cancellation. (No AbortController of our own per call: on Node 20 they are costly.)
    const [{ request }, dispatcher] = await Promise.all([loadUndici(), (this.dispatcher ??= createDispatcher(this.opts.env, this.opts.timeoutMs))]);
    const res = await request(url, { method, headers, body, dispatcher, ...(signal ? { signal } : {}) });
    const text = await res.body.text();
    // undici frees the socket one tick after the body ends; yielding here lets the next request
    // (e.g. the record after /me) reuse this keep-alive connection instead of opening another.
    await new Promise<void>((r) => setImmediate(r));
    const ra = res.headers[HEADERS.retryAfter];
    const retryAfterRaw = Array.isArray(ra) ? ra[0] : ra;
    const retryAfter = retryAfterRaw !== undefined && /^\d+$/.test(retryAfterRaw) ? Number(retryAfterRaw) : undefined;
    let parsed: unknown = undefined;
    if (text.length > 0) {
      try {
        parsed = JSON.parse(text);
      } catch {
        if (res.statusCode < 400) {
          throw new LoopIqError(
            'bad_response',
            `LoopIQ sent a response that is not JSON (${res.statusCode}, ${text.length} bytes) for ${method} ${url.pathname}.`,
            'Check LOOPIQ_API_URL points at the LoopIQ API (not a web page or proxy login).',
            { status: res.statusCode },
          );
        }
      }
    }
    return { status: res.statusCode, parsed, retryAfter, text };
  }

  private transportError(err: unknown, method: string, url: URL, requestId: string, signal: AbortSignal | undefined): LoopIqError {
    if (err instanceof LoopIqError) return err;
    if (signal?.aborted) return new LoopIqError('aborted', `${method} ${url.pathname} was cancelled.`, '', { requestId });
    const e = err as { name?: string; code?: string; message?: string };
    if (e.name === 'TimeoutError' || e.code === 'UND_ERR_HEADERS_TIMEOUT' || e.code === 'UND_ERR_BODY_TIMEOUT' || e.code === 'UND_ERR_CONNECT_TIMEOUT') {
      return new LoopIqError('timeout', `LoopIQ did not answer ${method} ${url.pathname} in time.`, 'Try again; if it persists, run `loopiq-mcp doctor`.', { requestId });
    }
    return new LoopIqError(
      'network',
      `Could not reach LoopIQ at ${url.origin} (${e.code ?? e.message ?? 'network error'}).`,
      'Check your network, proxy (HTTPS_PROXY) and LOOPIQ_API_URL; `loopiq-mcp doctor` checks them all.',
      { requestId },
    );
  }

  /** Exponential backoff with jitter, or the server's Retry-After (capped). */
  private delay(attempt: number, retryAfterSeconds: number | undefined): number {
    if (retryAfterSeconds !== undefined) return Math.min(retryAfterSeconds * 1000, this.retry.maxDelayMs * 4);
    const exp = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** (attempt - 1));
    return exp / 2 + Math.random() * (exp / 2);
  }

  async close() {
    await (await this.dispatcher)?.close();
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const cancelled = () => new LoopIqError('aborted', 'The request was cancelled.', '');
    if (signal?.aborted) return reject(cancelled());
    const onAbort = () => {
      clearTimeout(timer);
      reject(cancelled());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Invariant 3: a record whose organizationId is not the pinned org never leaves the client.
 * Pages drop foreign items (and count them); a single foreign record is an error.
 */
function pinToOrg(data: unknown, org: string, requestId: string): { data: unknown; foreignDropped: number } {
  if (data && typeof data === 'object' && Array.isArray((data as { items?: unknown }).items)) {
    const page = data as { items: { organizationId?: string }[] };
    const items = page.items.filter((i) => i.organizationId === org);
    const dropped = page.items.length - items.length;
    if (dropped) log.warn(`withheld ${dropped} record(s) not belonging to ${org} (request ${requestId})`);
    return { data: { ...page, items }, foreignDropped: dropped };
  }
  const owner = (data as { organizationId?: string } | null)?.organizationId;
  if (owner !== undefined && owner !== org) {
    throw new LoopIqError(
      'foreign_record',
      'LoopIQ returned a record from another organization; it was withheld.',
      'This should not happen; report it to LoopIQ with the request id.',
      { requestId },
    );
  }
  return { data, foreignDropped: 0 };
}

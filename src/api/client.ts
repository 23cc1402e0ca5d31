import { nodeCrypto } from '../util/node-crypto.js';
import type { Dispatcher } from 'undici';
import type { z } from 'zod';
import type { TokenSource } from '../auth/token-source.js';
import { HEADERS, RESPONSE_LIMITS, type Endpoint, type HttpMethod } from './contract.js';
import { LoopIqError, errorFromProblem } from './errors.js';
import { jsonShapeProblem, pageProblem, withholdForeign } from './response-guard.js';
import { DeadlineError, exchange } from './http-exchange.js';
import { log } from '../util/log.js';
import { secureUrl } from '../util/loopback.js';
import { addSecret, containsSecret, redactDeep } from '../util/redact.js';
import { mayHideText } from '../util/untrusted.js';

export interface ApiClientOptions {
  baseUrl: string;
  tokens: TokenSource;
  /** Evaluated per request: the MCP client's name is known only after `initialize`. */
  userAgent: () => string;
  /** Refuse every non-GET at the HTTP layer. */
  readOnly?: boolean;
  /**
   * Per attempt: one deadline for connect, headers and the whole body (a body that drips slowly
   * ends there). Default 30 s, or LOOPIQ_REQUEST_TIMEOUT_MS from `env` (for tests and slow links).
   */
  timeoutMs?: number;
  /** Bytes of response body accepted; default RESPONSE_LIMITS.maxBytes. */
  maxResponseBytes?: number;
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
  /** Records withheld (at any depth) because their organizationId was not the pinned org. */
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

/**
 * Only the keep-alive Agent: undici's index also loads fetch, WebSocket, its caches and mocks, which
 * a request through `dispatch` never touches (unbundled, 70–80 ms against ~25). Through a proxy
 * the whole package is loaded: its ProxyAgent tunnels with the `connect` API the index installs.
 */
let agent: Promise<typeof import('undici').Agent> | undefined;
const loadAgent = () => (agent ??= import('undici/lib/dispatcher/agent.js').then((m) => m.default));

export const POOL_SIZE = 16;

/** Keep-alive agent; through HTTP(S)_PROXY when the environment sets one (NO_PROXY honoured). */
export async function createDispatcher(env: NodeJS.ProcessEnv = process.env, timeoutMs = 30_000): Promise<Dispatcher> {
  const timeouts = { keepAliveTimeout: 30_000, headersTimeout: timeoutMs, bodyTimeout: timeoutMs, connect: { timeout: Math.min(10_000, timeoutMs) } };
  const proxied = env.HTTPS_PROXY || env.https_proxy || env.HTTP_PROXY || env.http_proxy;
  if (proxied) return new (await loadUndici()).EnvHttpProxyAgent({ ...timeouts, connections: POOL_SIZE });
  return new (await loadAgent())({ ...timeouts, connections: POOL_SIZE });
}

export class ApiClient {
  private dispatcher?: Promise<Dispatcher>;
  private readonly retry: RetryPolicy;
  private readonly timeoutMs: number;
  private readonly maxBytes: number;
  readonly baseUrl: string;
  readonly origin: string;

  constructor(private readonly opts: ApiClientOptions) {
    // Whatever the settings let through: a token only ever goes over https, or plain http to this machine.
    secureUrl(opts.baseUrl, 'API URL');
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.origin = new URL(this.baseUrl).origin;
    if (opts.dispatcher) this.dispatcher = Promise.resolve(opts.dispatcher);
    this.retry = opts.retry ?? DEFAULT_RETRY;
    this.timeoutMs = opts.timeoutMs ?? positiveInt(opts.env?.LOOPIQ_REQUEST_TIMEOUT_MS) ?? DEFAULT_TIMEOUT_MS;
    this.maxBytes = opts.maxResponseBytes ?? RESPONSE_LIMITS.maxBytes;
  }

  /** Every token this client sends is a secret no output may carry. */
  private async token(): Promise<string> {
    const t = await this.opts.tokens.get();
    addSecret(t);
    return t;
  }

  private async reloadedToken(): Promise<string | undefined> {
    const t = await this.opts.tokens.reload();
    addSecret(t);
    return t;
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
    const requestId = options.requestId ?? nodeCrypto().randomUUID();
    // randomUUID draws from a cached entropy pool; randomBytes would make a syscall per call.
    const traceparent = `00-${nodeCrypto().randomUUID().replace(/-/g, '')}-${nodeCrypto().randomUUID().slice(0, 8)}${nodeCrypto().randomUUID().slice(0, 8)}-01`;
    const url = new URL(this.baseUrl + endpoint.path);
    for (const [k, v] of Object.entries(endpoint.query ?? {})) if (v !== undefined && v !== '') url.searchParams.set(k, String(v));
    if (options.dryRun) url.searchParams.set('dryRun', 'true');
    // Writes are retried only when a key makes the retry safe (a dry run changes nothing).
    const retryable = method === 'GET' || options.idempotencyKey !== undefined || options.dryRun === true;
    const body = endpoint.body === undefined ? undefined : JSON.stringify(endpoint.body);

    const deadline = Date.now() + (this.opts.deadlineMs ?? Math.max(60_000, this.timeoutMs));
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
    let token = await this.token();
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
      let text: string;
      let retryAfter: number | undefined;
      try {
        // No attempt outlives the call's deadline (a takeover of an approved write waits that out).
        const attemptMs = Math.max(1, Math.min(this.timeoutMs, deadline - Date.now()));
        ({ status, parsed, retryAfter, text } = await this.send(method, url, headers, body, signal, attemptMs));
      } catch (err) {
        const e = this.transportError(err, method, url, requestId, signal);
        e.extra.requestId ??= requestId;
        const delay = this.delay(attempt, undefined);
        // Only what may pass: a refused (too large, malformed) body would be refused again, and a
        // server that answers but too slowly (a drip) would only make the wait longer.
        const transient = e.code === 'network' || (e.code === 'timeout' && !(err instanceof DeadlineError && err.answering));
        if (transient && mayRetry(attempt, delay)) {
          options.onRetry?.(e.code, attempt);
          await sleep(delay, signal);
          continue;
        }
        throw e;
      }

      if (status === 401 && !reloaded) {
        reloaded = true;
        const fresh = await this.reloadedToken();
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
          throw new LoopIqError(
            error.code,
            error.message,
            'LOOPIQ_TOKEN was rejected: set a valid token, or unset it to use the keychain (`loopiq-mcp login`).',
            error.extra,
          ).withOwnMessage(error.ownMessage);
        }
        throw error;
      }
      const schema = options.response ?? endpoint.response;
      const tooLong = pageProblem(parsed);
      if (tooLong) throw refused(method, endpoint.path, tooLong, status, requestId);
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
      // Reads, write results and dry-run previews alike: nothing of another org leaves the client
      // (callWithMeta refuses an org-scoped call without an org; '' would withhold every record).
      const foreignDropped = endpoint.orgScoped ? pinToOrg(result.data, options.org ?? '', requestId) : 0;
      return { data: result.data as z.infer<R>, requestId, status, foreignDropped, size: text.length, mayHideText: mayHideText(text) };
    }
  }

  private async send(method: HttpMethod, url: URL, headers: Record<string, string>, body: string | undefined, signal: AbortSignal | undefined, timeoutMs: number) {
    const dispatcher = await (this.dispatcher ??= createDispatcher(this.opts.env, this.timeoutMs));
    const tooLarge = (status: number) =>
      new LoopIqError(
        'response_too_large',
        `LoopIQ's response to ${method} ${url.pathname} is larger than the ${formatBytes(this.maxBytes)} cap; it was refused unread.`,
        'Ask for less: a smaller limit, narrower filters, or one record by id.',
        { status },
      );
    const res = await exchange(dispatcher, url, { method, headers, ...(body === undefined ? {} : { body }) }, { timeoutMs, maxBytes: this.maxBytes, tooLarge, signal });
    const text = res.text;
    const ra = res.headers[HEADERS.retryAfter];
    const retryAfterRaw = Array.isArray(ra) ? ra[0] : ra;
    const retryAfter = retryAfterRaw !== undefined && /^\d+$/.test(retryAfterRaw) ? Number(retryAfterRaw) : undefined;
    let parsed: unknown = undefined;
    if (text.length > 0) {
      const shape = jsonShapeProblem(text);
      if (shape) throw refused(method, url.pathname, shape, res.status);
      try {
        // Redacted at the source: a body echoing our token gives nothing back to anyone. Without a
        // backslash every parsed string is a substring of the body, so a body that holds no secret
        // needs no walk.
        const value: unknown = JSON.parse(text);
        parsed = !text.includes('\\') && !containsSecret(text) ? value : redactDeep(value);
      } catch {
        if (res.status < 400) {
          throw new LoopIqError(
            'bad_response',
            `LoopIQ sent a response that is not JSON (${res.status}, ${text.length} bytes) for ${method} ${url.pathname}.`,
            'Check LOOPIQ_API_URL points at the LoopIQ API (not a web page or proxy login).',
            { status: res.status },
          );
        }
      }
    }
    return { status: res.status, parsed, retryAfter, text };
  }

  private transportError(err: unknown, method: string, url: URL, requestId: string, signal: AbortSignal | undefined): LoopIqError {
    if (err instanceof LoopIqError) return err;
    if (signal?.aborted) return new LoopIqError('aborted', `${method} ${url.pathname} was cancelled.`, '', { requestId });
    const e = err as { name?: string; code?: string; message?: string };
    if (err instanceof DeadlineError) {
      return new LoopIqError(
        'timeout',
        err.answering
          ? `LoopIQ began answering ${method} ${url.pathname} but did not send its whole answer within ${formatMs(err.ms)}.`
          : `LoopIQ did not answer ${method} ${url.pathname} within ${formatMs(err.ms)}.`,
        'Try again; if it persists, run `loopiq-mcp doctor`.',
        { requestId },
      );
    }
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
    if (signal?.aborted) { reject(cancelled()); return; }
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

const DEFAULT_TIMEOUT_MS = 30_000;

function positiveInt(v: string | undefined): number | undefined {
  const n = v === undefined ? NaN : Number(v);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

const formatBytes = (n: number) => (n % (1024 * 1024) === 0 ? `${n / (1024 * 1024)} MiB` : `${n} bytes`);
const formatMs = (ms: number) => (ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`);

function refused(method: string, path: string, why: string, status: number, requestId?: string): LoopIqError {
  return new LoopIqError(
    'bad_response',
    `LoopIQ's response to ${method} ${path} ${why}; it was refused unread.`,
    'This is not a response LoopIQ should send; try again, and report it to LoopIQ with the request id if it persists.',
    { status, ...(requestId ? { requestId } : {}) },
  );
}

/**
 * Invariant 3: a record whose organizationId is not the pinned org never leaves the client, at
 * any depth (see withholdForeign); a foreign record at the top is an error.
 */
function pinToOrg(data: unknown, org: string, requestId: string): number {
  const { withheld, foreignRoot } = withholdForeign(data, org);
  if (foreignRoot) {
    throw new LoopIqError(
      'foreign_record',
      'LoopIQ returned a record from another organization; it was withheld.',
      'This should not happen; report it to LoopIQ with the request id.',
      { requestId },
    );
  }
  if (withheld) log.warn(`withheld ${withheld} record(s) not belonging to ${org} (request ${requestId})`);
  return withheld;
}

import { redact, redactDeep } from '../util/redact.js';
import { Problem, type ProblemCode } from './contract.js';

/** What LoopIQ itself said in a problem+json body: data, never our words (shown fenced to the model). */
export interface ApiSaid {
  code?: string;
  title?: string;
  detail?: string;
}

export interface ErrorExtra {
  status?: number;
  requestId?: string;
  retryAfterSeconds?: number;
  /** API-supplied; redacted when the error is built. */
  fieldErrors?: { path: string; message: string }[];
  /** API-supplied; redacted when the error is built. */
  apiSaid?: ApiSaid;
  /** Other API-supplied values the message quotes (org names…), for the model's data fence. */
  data?: Record<string, unknown>;
}

/**
 * Every failure the user or the model can see. `message` says what failed and why; `hint` says
 * what to do next. Never carries a token.
 */
export class LoopIqError extends Error {
  override readonly name = 'LoopIqError';
  readonly hint: string;
  readonly extra: ErrorExtra;
  constructor(
    readonly code: ProblemCode | LocalCode,
    message: string,
    hint: string,
    extra: ErrorExtra = {},
  ) {
    // Messages may quote what an API or a library said: no known secret survives into them.
    super(redact(message));
    this.hint = redact(hint);
    this.extra = redactDeep(extra);
  }

  /** Our own words only (`message` may quote what LoopIQ said). */
  get ownMessage(): string {
    return this.own ?? this.message;
  }
  private own?: string;
  private ownHint?: string;

  /** The message (and hint) without API-supplied text, for `forModel`; what they quoted goes in `extra.data`. */
  withOwnMessage(own: string, ownHint?: string): this {
    this.own = redact(own);
    if (ownHint !== undefined) this.ownHint = redact(ownHint);
    return this;
  }

  /** One text for humans (CLI output renders it inert). */
  describe(): string {
    const lines = [this.message];
    for (const f of this.extra.fieldErrors ?? []) lines.push(`  - ${f.path || '(body)'}: ${f.message}`);
    if (this.hint) lines.push(this.hint);
    if (this.extra.requestId) lines.push(`(request id ${this.extra.requestId})`);
    return lines.join('\n');
  }

  /**
   * For the model: `text` is ours only (what failed, what to do); `data` is everything the API
   * supplied (detail, field errors, request id), to be shown inside the data fence.
   */
  forModel(): { text: string; data: Record<string, unknown> } {
    const data: Record<string, unknown> = { code: this.code };
    if (this.extra.status !== undefined) data.status = this.extra.status;
    if (this.extra.apiSaid) data.loopiqSaid = this.extra.apiSaid;
    if (this.extra.fieldErrors?.length) data.fieldErrors = this.extra.fieldErrors;
    if (this.extra.requestId) data.requestId = this.extra.requestId;
    if (this.extra.retryAfterSeconds !== undefined) data.retryAfterSeconds = this.extra.retryAfterSeconds;
    if (this.extra.data) Object.assign(data, this.extra.data);
    return { text: [this.ownMessage, this.ownHint ?? this.hint].filter(Boolean).join('\n'), data };
  }
}

export type LocalCode =
  | 'not_logged_in'
  | 'keychain_unavailable'
  | 'no_organization'
  | 'organization_unknown'
  | 'network'
  | 'timeout'
  | 'aborted'
  | 'bad_response'
  | 'read_only'
  | 'config_invalid'
  | 'foreign_record'
  | 'response_too_large'
  | 'approval_invalid';

const HINTS: Record<ProblemCode, string> = {
  unauthenticated: 'Your LoopIQ token was not accepted. Run `loopiq-mcp login` to sign in again.',
  token_expired: 'Your LoopIQ token has expired. Run `loopiq-mcp login` (or `loopiq-mcp rotate` before it expires).',
  forbidden: 'Your LoopIQ role does not allow this. Ask an organization admin for access.',
  org_access_denied:
    'You are not a member of the selected organization. Run `loopiq-mcp orgs` and `loopiq-mcp use-org <id|slug>`.',
  mcp_disabled: 'MCP access is disabled for this organization. An organization admin can enable it in LoopIQ settings.',
  not_found: 'Check the id; it may belong to another organization or have been deleted.',
  conflict: 'The record changed in the meantime. Read it again and retry with fresh values.',
  idempotency_key_reused: 'This approved action was already used for a different request. Ask for a new approval.',
  validation_failed: 'Fix the fields listed above and try again.',
  rate_limited: 'LoopIQ is rate-limiting requests. Wait and try again.',
  internal: 'LoopIQ had an internal error. Try again later; if it persists, contact LoopIQ support with the request id.',
  unavailable: 'LoopIQ is temporarily unavailable. Try again shortly.',
};

export function errorFromProblem(status: number, body: unknown, requestId: string, retryAfter?: number): LoopIqError {
  const parsed = Problem().safeParse(redactDeep(body));
  const code = (parsed.success ? parsed.data.code : codeForStatus(status)) as ProblemCode;
  const known = Object.hasOwn(HINTS, code);
  const safeCode: ProblemCode = known ? code : codeForStatus(status);
  const detail = parsed.success ? (parsed.data.detail ?? parsed.data.title) : undefined;
  const own = `LoopIQ answered ${status} ${safeCode}.`;
  let hint = HINTS[safeCode];
  if (retryAfter !== undefined && (safeCode === 'rate_limited' || safeCode === 'unavailable')) {
    hint = `${hint.replace(/ Wait and try again\.| Try again shortly\./, '')} Try again in ${retryAfter} s.`;
  }
  const said: ApiSaid | undefined = parsed.success
    ? Object.fromEntries(
        // (Its requestId, when given, is the error's requestId.)
        Object.entries({ code: known ? undefined : parsed.data.code, title: parsed.data.title, detail: parsed.data.detail }).filter(
          ([, v]) => v !== undefined && v !== '',
        ),
      )
    : undefined;
  return new LoopIqError(safeCode, detail ? `LoopIQ answered ${status} ${safeCode}: ${detail.replace(/[.\s]+$/, '')}.` : own, hint, {
    status,
    requestId: (parsed.success && parsed.data.requestId) || requestId,
    ...(retryAfter !== undefined ? { retryAfterSeconds: retryAfter } : {}),
    ...(parsed.success && parsed.data.errors ? { fieldErrors: parsed.data.errors } : {}),
    ...(said && Object.keys(said).length ? { apiSaid: said } : {}),
  }).withOwnMessage(own);
}

function codeForStatus(status: number): ProblemCode {
  if (status === 401) return 'unauthenticated';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not_found';
  if (status === 409) return 'conflict';
  if (status === 422 || status === 400) return 'validation_failed';
  if (status === 429) return 'rate_limited';
  if (status === 503) return 'unavailable';
  return 'internal';
}

export function toLoopIqError(err: unknown): LoopIqError {
  if (err instanceof LoopIqError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new LoopIqError('internal', `Unexpected error: ${message}`, 'This is a bug in loopiq-mcp; please report it.');
}

import { Problem, type ProblemCode } from './contract.js';

/**
 * Every failure the user or the model can see. `message` says what failed and why; `hint` says
 * what to do next. Never carries a token.
 */
export class LoopIqError extends Error {
  override readonly name = 'LoopIqError';
  constructor(
    readonly code: ProblemCode | LocalCode,
    message: string,
    readonly hint: string,
    readonly extra: {
      status?: number;
      requestId?: string;
      retryAfterSeconds?: number;
      fieldErrors?: { path: string; message: string }[];
    } = {},
  ) {
    super(message);
  }

  /** One text for humans and models alike. */
  describe(): string {
    const lines = [this.message];
    for (const f of this.extra.fieldErrors ?? []) lines.push(`  - ${f.path || '(body)'}: ${f.message}`);
    if (this.hint) lines.push(this.hint);
    if (this.extra.requestId) lines.push(`(request id ${this.extra.requestId})`);
    return lines.join('\n');
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
  const parsed = Problem.safeParse(body);
  const code = (parsed.success ? parsed.data.code : codeForStatus(status)) as ProblemCode;
  const known = code in HINTS;
  const safeCode: ProblemCode = known ? code : codeForStatus(status);
  // The sentence gets its own full stop: a detail that already ends in one would print "..".
  const detail = parsed.success ? (parsed.data.detail ?? parsed.data.title)?.replace(/[.\s]+$/, '') : undefined;
  let hint = HINTS[safeCode];
  if (retryAfter !== undefined && (safeCode === 'rate_limited' || safeCode === 'unavailable')) {
    hint = `${hint.replace(/ Wait and try again\.| Try again shortly\./, '')} Try again in ${retryAfter} s.`;
  }
  return new LoopIqError(safeCode, `LoopIQ answered ${status} ${code}${detail ? `: ${detail}` : ''}.`, hint, {
    status,
    requestId: (parsed.success && parsed.data.requestId) || requestId,
    ...(retryAfter !== undefined ? { retryAfterSeconds: retryAfter } : {}),
    ...(parsed.success && parsed.data.errors ? { fieldErrors: parsed.data.errors } : {}),
  });
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

import * as oidc from 'openid-client';
import { LoopIqError } from '../../api/errors.js';

/** The OAuth `error` code of an openid-client failure, when the server sent one. */
export function oauthErrorCode(err: unknown): string | undefined {
  if (err instanceof oidc.ResponseBodyError || err instanceof oidc.AuthorizationResponseError) return err.error;
  const cause = (err as { cause?: { error?: unknown } }).cause;
  return typeof cause?.error === 'string' ? cause.error : undefined;
}

/** A failure of an OAuth exchange, worded for the person at the terminal. */
export function oauthFailure(what: string, err: unknown, hint: string): LoopIqError {
  if (err instanceof LoopIqError) return err;
  const code = oauthErrorCode(err);
  const description = err instanceof oidc.ResponseBodyError || err instanceof oidc.AuthorizationResponseError ? err.error_description : undefined;
  // fetch failures carry the reason (ECONNREFUSED, ENOTFOUND, …) in their cause.
  const network = err instanceof Error ? (err.cause as { code?: string; message?: string; cause?: { code?: string } } | undefined) : undefined;
  const detail = code ? `${code}${description ? `: ${description}` : ''}` : (network?.code ?? network?.cause?.code ?? network?.message ?? (err instanceof Error ? err.message : String(err)));
  return new LoopIqError(code ? 'unauthenticated' : 'network', `${what} failed (${detail}).`, hint);
}

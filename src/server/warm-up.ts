import { log } from '../util/log.js';
import { flushCompileCache } from './compile-cache.js';
import type { OrgScope } from './org-scope.js';

/** Long enough for a `tools/list` sent right after `initialized` to be answered first. */
const START_DELAY_MS = 10;

/**
 * Called on `initialized`: while the client is still idle, do what the first tool call would
 * otherwise do on its own time — read the token, load the HTTP stack, open the connection and fetch
 * the identity that pins the organization (`/me`, cached by OrgScope) — then persist the compile
 * cache. A failure here is dropped: the first real call retries it and reports it properly.
 */
export function warmUp(scope: OrgScope): void {
  const timer = setTimeout(() => {
    const t0 = performance.now();
    scope.whoami().then(
      () => log.debug(`warm-up done in ${(performance.now() - t0).toFixed(1)} ms`),
      (err: unknown) => log.debug(`warm-up skipped: ${err instanceof Error ? err.message : String(err)}`),
    ).finally(flushCompileCache);
  }, START_DELAY_MS);
  timer.unref();
}

import { setFlagsFromString } from 'node:v8';
import { log } from '../util/log.js';
import { flushCompileCache } from './compile-cache.js';
import type { OrgScope } from './org-scope.js';

/** Long enough for a `tools/list` sent right after `initialized` to be answered first. */
const START_DELAY_MS = 10;
/** After the warm-up, long enough for a first call already under way to load what it needs. */
const SETTLE_DELAY_MS = 2_000;

/**
 * Called on `initialized`: while the client is still idle, do what the first tool call would
 * otherwise do on its own time — read the token, load the HTTP stack, open the connection and fetch
 * the identity that pins the organization (`/me`, cached by OrgScope) — then persist the compile
 * cache and settle V8 for a long, mostly idle life. A failure here is dropped: the first real call
 * retries it and reports it properly.
 */
export function warmUp(scope: OrgScope): void {
  const timer = setTimeout(() => {
    const t0 = performance.now();
    scope
      .whoami()
      .then(
        () => {
          log.debug(`warm-up done in ${(performance.now() - t0).toFixed(1)} ms`);
        },
        (err: unknown) => {
          log.debug(`warm-up skipped: ${err instanceof Error ? err.message : String(err)}`);
        },
      )
      .finally(() => {
        flushCompileCache();
        setTimeout(settleForIdleLife, SETTLE_DELAY_MS).unref();
      });
  }, START_DELAY_MS);
  timer.unref();
}

/**
 * Memory after work: a server spends its life waiting and does little CPU per call, yet V8 keeps
 * what a grown young generation and its optimizing compilers took (~30-50 MB after a few hundred
 * calls, never given back). From here on: the young generation stays the size it is; on Node >= 22
 * no TurboFan (Maglev remains: same CPU per call); WebAssembly (undici's HTTP parser) tiers up no
 * further. Set only now, once everything the calls need is loaded: changing
 * V8 flags makes V8 refuse code caches made under the old ones (Node's own built-in modules
 * included), which costs ~20 ms on whatever loads afterwards.
 */
function settleForIdleLife(): void {
  // Without Maglev (Node 20) code would fall back to Sparkplug: ~+100 µs CPU per call for ~3 MB.
  const hasMaglev = Number(process.versions.node.split('.')[0]) >= 22;
  for (const flag of ['--semi-space-growth-factor=1', ...(hasMaglev ? ['--no-turbofan'] : []), '--liftoff-only', '--no-wasm-dynamic-tiering', '--no-wasm-tier-up']) {
    setFlagsFromString(flag);
  }
}

import type { CodeCache } from '../launch/code-cache.js';
import { log } from '../util/log.js';

/** Long enough for a `tools/list` sent right after `initialized` to be answered first. */
const START_DELAY_MS = 10;
/** How long to wait for a first tool call before the code cache is taken without one. */
const FIRST_ANSWER_WAIT_MS = 20_000;
/** After the first answer: time for the answer to be written before the cache is taken. */
const QUIET_MS = 50;

/**
 * A server's first seconds, in order:
 * 1. on `initialized`, while the client is still idle, do what the first tool call would otherwise
 *    do on its own time (`prepare`: read the token, load the HTTP stack, open the connection, fetch
 *    the identity that pins the organization); a failure is dropped — the first real call retries
 *    it and reports it properly;
 * 2. once the first call has been answered (or after 20 s without one), store the compiled code for
 *    the next start (launch/code-cache.ts);
 * 3. then, at once, settle V8 for a long, mostly idle life (the sooner, the less memory a busy
 *    start leaves behind; what a read needs is loaded by now).
 * The order matters: V8 refuses a code cache made under other flags, so the cache is taken first.
 */
export class WarmUp {
  private prepared = false;
  private hasAnswered = false;
  private finished = false;
  private wait: NodeJS.Timeout | undefined;

  constructor(
    private readonly prepare: () => Promise<unknown>,
    private readonly codeCache?: CodeCache,
  ) {}

  /** On `initialized`. */
  start(): void {
    setTimeout(() => {
      const t0 = performance.now();
      this.prepare()
        .then(
          () => {
            log.debug(`warm-up done in ${(performance.now() - t0).toFixed(1)} ms`);
          },
          (err: unknown) => {
            log.debug(`warm-up skipped: ${err instanceof Error ? err.message : String(err)}`);
          },
        )
        .finally(() => {
          this.prepared = true;
          this.finishIn(this.hasAnswered ? QUIET_MS : FIRST_ANSWER_WAIT_MS);
        });
    }, START_DELAY_MS).unref();
  }

  /** After every tool answer (cheap: only the first one counts). */
  readonly answered = (): void => {
    if (this.hasAnswered) return;
    this.hasAnswered = true;
    if (!this.prepared || this.finished) return;
    this.finishIn(QUIET_MS);
  };

  private finishIn(ms: number): void {
    clearTimeout(this.wait);
    this.wait = setTimeout(() => {
      this.finish();
    }, ms).unref();
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    const stage = this.hasAnswered ? 'answered' : 'started';
    const saved = this.codeCache?.save(stage) ?? false;
    log.debug(`code cache: ${this.codeCache?.status ?? 'none (not started from dist/cli.js)'} at start${saved ? `; saved (${stage})` : ''}`);
    settleForIdleLife();
  }
}

/**
 * Memory after work: a server spends its life waiting and does little CPU per call, yet V8 keeps
 * what a grown young generation took (up to 2 × 16 MB, never given back). From here on the young
 * generation stays the size it is, and WebAssembly (undici's HTTP parser) tiers up no further. Set
 * only now, once everything the calls need is loaded and the code cache is taken: changing V8 flags
 * makes V8 refuse code caches made under the old ones. TurboFan stays: turning it off (as this did
 * on Node >= 22) cost a read 35-60 µs of latency (p50, Maglev only) for a few MB.
 */
function settleForIdleLife(): void {
  const { setFlagsFromString } = process.getBuiltinModule('node:v8');
  for (const flag of ['--semi-space-growth-factor=1', '--liftoff-only', '--no-wasm-dynamic-tiering', '--no-wasm-tier-up']) {
    setFlagsFromString(flag);
  }
}

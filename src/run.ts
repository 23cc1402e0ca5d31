/** What serve-main.ts and program.ts share: how a command's result or failure becomes an exit code. */
import type { ServeOptions } from './commands/serve.js';
import type { CodeCache } from './launch/code-cache.js';

export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

/** The one top-level handler: every failure becomes a message, a fix and an exit code (failure.ts). */
export async function fail(err: unknown): Promise<void> {
  const { describeFailure } = await import('./commands/failure.js');
  const f = describeFailure(err, process.env.LOOPIQ_LOG_LEVEL === 'debug');
  if (f.text) process.stderr.write(f.text);
  process.exitCode = f.exitCode;
}

/** Runs a command; its result is the exit code. */
export async function run(action: () => Promise<number | undefined | void>): Promise<void> { // eslint-disable-line @typescript-eslint/no-invalid-void-type -- commands return an exit code or nothing
  try {
    const code = await action();
    process.exitCode = code ?? EXIT.ok;
  } catch (err) {
    await fail(err);
  }
}

/** `serve`, however it was parsed. */
export function runServe(opts: ServeOptions, codeCache?: CodeCache): Promise<void> {
  return run(async () => {
    if (process.stdin.isTTY) process.stderr.write((await import('./commands/serve-banner.js')).serveBanner(opts));
    const { serve } = await import('./commands/serve.js');
    await serve(opts, process.env, codeCache);
  });
}

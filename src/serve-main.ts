/**
 * What a plain `serve` start runs: built on its own into dist/serve.cjs, one CommonJS file that
 * cli.ts compiles through the code cache (src/launch/code-cache.ts).
 */
import type { ServeOptions } from './commands/serve.js';
import type { CodeCache } from './launch/code-cache.js';
import { installProcessHandlers } from './process-handlers.js';
import { runServe } from './run.js';

export async function serveMain(opts: ServeOptions, codeCache?: CodeCache): Promise<void> {
  installProcessHandlers();
  await runServe(opts, codeCache);
}

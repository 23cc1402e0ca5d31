import { mkdirSync } from 'node:fs';
import module from 'node:module';
import { join } from 'node:path';
import { stateDir } from '../config/paths.js';

type CompileCacheApi = {
  enableCompileCache?: (dir: string) => { status: number; directory?: string };
  flushCompileCache?: () => void;
};
const api = module as unknown as CompileCacheApi;

/**
 * Node >= 22: V8 keeps the compiled code of loopiq-mcp's modules in `<state dir>/compile-cache`, so
 * later starts skip most parsing and compiling. Called by bin/loopiq-mcp.js before the CLI loads.
 * Never fails a start: an unwritable or odd directory only means no cache. NODE_DISABLE_COMPILE_CACHE=1
 * turns it off (Node's own switch).
 */
export function enableCompileCache(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (!api.enableCompileCache) return undefined;
  try {
    const state = stateDir(env);
    // The state dir holds approvals and the audit log: if the cache is what creates it, it gets the
    // same owner-only mode the gate would give it (Node would create it world-readable).
    mkdirSync(state, { recursive: true, mode: 0o700 });
    return api.enableCompileCache(join(state, 'compile-cache')).directory;
  } catch {
    return undefined;
  }
}

/** Write what has been compiled so far (the cache is otherwise written only on a clean exit). */
export function flushCompileCache(): void {
  try {
    api.flushCompileCache?.();
  } catch {
    // A cache that cannot be written is not an error.
  }
}

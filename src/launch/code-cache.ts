/**
 * The server's code cache: `dist/serve.cjs` (everything a `serve` start needs, one CommonJS file)
 * is compiled through `vm.Script` with the V8 code cache kept in `<state dir>/code-cache/`.
 *
 * Written by hand (~100 lines) because no library does what matters here: the cache is taken once
 * the server is warm — after the warm-up, and again after its first answer — so it holds every
 * function that start-up and a first read compiled. Node's compile cache (`module.enableCompileCache`,
 * Node >= 22 only) and v8-compile-cache both store what was compiled when a module *loaded*: V8
 * compiles functions lazily, so most of a start's compiling is not in them.
 *
 * Safe by construction. V8 refuses a cache made by another V8 version, under other flags, or for a
 * source of another *length*; the file name adds what V8 does not check — loopiq-mcp's version and
 * the bundle's size and modification time (any rebuild, reinstall or edit) — with the Node version
 * and architecture. The file must be a regular file of this user that others cannot write, and is
 * written atomically (temp file, rename), so a torn file is never read. Anything odd means "no
 * cache", never an error. NODE_DISABLE_COMPILE_CACHE=1 (Node's own switch) turns it off. Nothing
 * here loads node:crypto (~5 ms): a start does not otherwise need it before the first call.
 */
import { closeSync, constants, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import vm from 'node:vm';
import { stateDir } from '../config/paths.js';
import { VERSION } from '../version.js';

/** How warm the process was when its cache was taken; a later stage holds more compiled code. */
export const CACHE_STAGES = { started: 1, answered: 2 } as const;
export type CacheStage = keyof typeof CACHE_STAGES;

export interface CodeCache {
  /** At start: was compiled code taken from the cache, refused by V8, or not there (or turned off)? */
  readonly status: 'used' | 'rejected' | 'absent' | 'off';
  /**
   * Stores what has been compiled so far, unless the cache in use was taken at this stage or later.
   * Call when idle (~20 ms of CPU). True when a cache file was written.
   */
  save(stage: CacheStage): boolean;
}

const MAGIC = 'LQCC2';
const HEADER_BYTES = 16; // `${MAGIC} <stage>\n`, space-padded
const STALE_MS = 30 * 24 * 3600_000;

/** Reads a cache file if it is ours and intact; anything else is no cache. */
function readCache(path: string): { stage: number; data: Buffer } | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, constants.O_RDONLY | ((constants as Partial<typeof constants>).O_NOFOLLOW ?? 0));
    const st = fstatSync(fd);
    // (Windows has no such modes: every writable file reports 0o666; its ACLs keep the profile private.)
    const othersMayWrite = process.platform !== 'win32' && (st.mode & 0o022) !== 0;
    if (!st.isFile() || othersMayWrite || (process.getuid && st.uid !== process.getuid())) return undefined;
    const file = readFileSync(fd);
    const [magic, stage] = file.subarray(0, HEADER_BYTES).toString('latin1').trimEnd().split(' ');
    if (magic !== MAGIC || file.length <= HEADER_BYTES) return undefined;
    return { stage: Number(stage) || 0, data: file.subarray(HEADER_BYTES) };
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function writeCache(path: string, stage: number, data: Buffer): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const header = Buffer.alloc(HEADER_BYTES, ' ');
  header.write(`${MAGIC} ${String(stage)}\n`, 'latin1');
  const tmp = `${path}.${String(process.pid)}-${Date.now().toString(36)}.tmp`;
  try {
    writeFileSync(tmp, Buffer.concat([header, data]), { mode: 0o600, flag: 'wx' });
    renameSync(tmp, path);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      // Never written.
    }
    throw err;
  }
  // Node's compile cache, which loopiq-mcp 0.1 kept beside it, is no longer read.
  rmSync(join(dir, '..', 'compile-cache'), { recursive: true, force: true });
  // Caches of other versions and other Nodes, unused for a month.
  for (const name of readdirSync(dir)) {
    const other = join(dir, name);
    try {
      if (other !== path && Date.now() - statSync(other).mtimeMs > STALE_MS) unlinkSync(other);
    } catch {
      // Someone else's clean-up got there first.
    }
  }
}

/**
 * Loads a CommonJS file through the code cache and returns its exports. The file must be
 * self-contained (a bundle): its `require` resolves from the file's own directory.
 */
export function loadCached(file: string, env: NodeJS.ProcessEnv = process.env): { exports: unknown; codeCache: CodeCache } {
  const source = readFileSync(file, 'utf8');
  const off = Boolean(env.NODE_DISABLE_COMPILE_CACHE);
  let path = '';
  let cached: { stage: number; data: Buffer } | undefined;
  if (!off) {
    try {
      const { size, mtimeMs } = statSync(file);
      const id = `${VERSION}-${size.toString(36)}-${Math.trunc(mtimeMs).toString(36)}`.replace(/[^\w.-]/g, '_');
      path = join(stateDir(env), 'code-cache', `serve-${id}-${process.version}-${process.arch}.bin`);
      cached = readCache(path);
    } catch {
      path = '';
    }
  }
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: file,
    ...(cached ? { cachedData: cached.data } : {}),
    // The keychain addon is a real `import()` in the bundle.
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  let stage = cached && !script.cachedDataRejected ? cached.stage : 0;
  const codeCache: CodeCache = {
    status: off ? 'off' : !cached ? 'absent' : script.cachedDataRejected ? 'rejected' : 'used',
    save(at) {
      const want = CACHE_STAGES[at];
      if (off || !path || want <= stage) return false;
      stage = want;
      try {
        writeCache(path, want, script.createCachedData());
        return true;
      } catch {
        // A cache that cannot be written (read-only or odd state dir) is only a slower next start.
        return false;
      }
    },
  };
  const module = { exports: {} as unknown };
  const wrapper = script.runInThisContext() as (exports: unknown, require: NodeJS.Require, module: { exports: unknown }, filename: string, dirname: string) => void;
  wrapper.call(module.exports, module.exports, createRequire(file), module, file, dirname(file));
  return { exports: module.exports, codeCache };
}

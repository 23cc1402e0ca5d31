import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCached } from './code-cache.js';

/** A bundle-like CommonJS file with enough functions for V8's cache to matter. */
function bundle(dir: string, body = '') {
  const file = join(dir, 'serve.cjs');
  const fns = Array.from({ length: 200 }, (_, i) => `function f${i}(x) { return x * ${i} + ${i}; }`).join('\n');
  writeFileSync(file, `${fns}\nexports.answer = (n) => f7(n) + f199(n);\nexports.dir = __dirname;\nexports.req = typeof require;\n${body}\n`);
  return file;
}

function setup(body?: string) {
  const root = mkdtempSync(join(tmpdir(), 'loopiq-cc-'));
  const file = bundle(root, body);
  const env = { LOOPIQ_STATE_DIR: join(root, 'state') };
  const cacheDir = join(root, 'state', 'code-cache');
  const files = () => (existsSync(cacheDir) ? readdirSync(cacheDir) : []);
  return { root, file, env, cacheDir, files };
}

type Exports = { answer(n: number): number; dir: string; req: string };

// In one process V8 reuses a script it has compiled before, whatever cache is offered: whether V8
// accepts or refuses a cache file is tested across processes, with the built CLI
// (test/code-cache.test.ts). Here: naming, modes, stages, and what is refused before V8 sees it.

describe('the code cache (launch/code-cache.ts)', () => {
  it('runs the file as CommonJS, stores its compiled code owner-only, and the next load uses it', () => {
    const { file, env, cacheDir, files, root } = setup();
    const first = loadCached(file, env);
    const ex = first.exports as Exports;
    expect(ex.answer(2)).toBe(7 * 2 + 7 + 199 * 2 + 199);
    expect(ex.dir).toBe(root);
    expect(ex.req).toBe('function');
    expect(first.codeCache.status).toBe('absent');
    expect(files()).toEqual([]);
    expect(first.codeCache.save('started')).toBe(true);
    const [name] = files();
    expect(name).toMatch(new RegExp(`^serve-.+-${process.version.replace(/\./g, '\\.')}-${process.arch}\\.bin$`));
    if (process.platform !== 'win32') {
      expect(statSync(join(cacheDir, name!)).mode & 0o777).toBe(0o600);
      expect(statSync(cacheDir).mode & 0o777).toBe(0o700);
    }
    const second = loadCached(file, env);
    expect(second.codeCache.status).toBe('used');
    expect((second.exports as Exports).answer(3)).toBe(ex.answer(3));
  });

  it("removes Node's compile cache that version 0.1 kept in the state dir, and nothing else there", () => {
    const { file, env, root } = setup();
    const old = join(root, 'state', 'compile-cache', 'v22', 'x');
    mkdirSync(old, { recursive: true });
    writeFileSync(join(old, 'entry'), 'old');
    writeFileSync(join(root, 'state', 'audit.jsonl'), '{}\n');
    expect(loadCached(file, env).codeCache.save('answered')).toBe(true);
    expect(existsSync(join(root, 'state', 'compile-cache'))).toBe(false);
    expect(readFileSync(join(root, 'state', 'audit.jsonl'), 'utf8')).toBe('{}\n');
  });

  it('is taken again only at a later stage: after the first answer, not twice', () => {
    const { file, env, files } = setup();
    const a = loadCached(file, env);
    expect(a.codeCache.save('answered')).toBe(true);
    expect(a.codeCache.save('answered')).toBe(false);
    expect(a.codeCache.save('started')).toBe(false);
    const b = loadCached(file, env);
    expect(b.codeCache.status).toBe('used');
    expect(b.codeCache.save('answered')).toBe(false);
    expect(files()).toHaveLength(1);
    // A cache taken at start only is upgraded once a later process has answered.
    const { file: f2, env: e2 } = setup();
    expect(loadCached(f2, e2).codeCache.save('started')).toBe(true);
    const d = loadCached(f2, e2);
    expect(d.codeCache.status).toBe('used');
    expect(d.codeCache.save('started')).toBe(false);
    expect(d.codeCache.save('answered')).toBe(true);
  });

  it('a rebuilt or edited file never meets the old cache (V8 itself compares only the length)', () => {
    const { file, env, files } = setup();
    loadCached(file, env).codeCache.save('answered');
    // Same length, other content, other modification time: a new cache name, not the old code.
    const src = readFileSync(file, 'utf8');
    writeFileSync(file, src.replace('f7(n) + f199(n)', 'f8(n) + f199(n)'));
    utimesSync(file, new Date(), new Date(Date.now() + 5_000));
    const edited = loadCached(file, env);
    expect(edited.codeCache.status).toBe('absent');
    expect((edited.exports as Exports).answer(1)).toBe(8 + 8 + 199 + 199);
    edited.codeCache.save('answered');
    expect(files()).toHaveLength(2);
  });

  it('ignores what is not a cache of this user: another header, an empty or truncated file, a symlink, a file others can write', () => {
    const { file, env, cacheDir, files } = setup();
    loadCached(file, env).codeCache.save('answered');
    const name = files()[0]!;
    const path = join(cacheDir, name);
    const good = readFileSync(path);
    const cases: [string, () => void][] = [
      ['another header', () => { writeFileSync(path, Buffer.concat([Buffer.from('LQCC9 2\n'.padEnd(16)), good.subarray(16)])); }],
      ['empty', () => { writeFileSync(path, ''); }],
      ['header only', () => { writeFileSync(path, good.subarray(0, 16)); }],
    ];
    if (process.platform !== 'win32') {
      cases.push(
        ['a symlink to a valid cache', () => {
          const elsewhere = join(cacheDir, '..', 'elsewhere.bin');
          writeFileSync(elsewhere, good, { mode: 0o600 });
          symlinkSync(elsewhere, path);
        }],
        ['writable by others', () => {
          writeFileSync(path, good, { mode: 0o600 });
          chmodSync(path, 0o666);
        }],
      );
    }
    for (const [what, plant] of cases) {
      rmSync(path, { force: true });
      plant();
      const loaded = loadCached(file, env);
      expect(loaded.codeCache.status, what).toBe('absent');
      expect((loaded.exports as Exports).answer(1), what).toBe(7 + 7 + 199 + 199);
    }
  });

  it('NODE_DISABLE_COMPILE_CACHE turns it off; an unusable state dir only means no cache', () => {
    const { file, env, files, root } = setup();
    const off = loadCached(file, { ...env, NODE_DISABLE_COMPILE_CACHE: '1' });
    expect(off.codeCache.status).toBe('off');
    expect(off.codeCache.save('answered')).toBe(false);
    expect(files()).toEqual([]);
    writeFileSync(join(root, 'not-a-dir'), '');
    const odd = loadCached(file, { LOOPIQ_STATE_DIR: join(root, 'not-a-dir', 'state') });
    expect(odd.codeCache.status).toBe('absent');
    expect(odd.codeCache.save('answered')).toBe(false);
    expect((odd.exports as Exports).answer(1)).toBe(7 + 7 + 199 + 199);
  });
});

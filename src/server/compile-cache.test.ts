import { mkdtempSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it, vi } from 'vitest';

// The Node running the tests may predate module.enableCompileCache (Node 20): stand in for it.
const fake = vi.hoisted((): { module: Record<string, unknown> } => ({ module: {} }));
vi.mock('node:module', () => ({ default: fake.module }));
const { enableCompileCache, flushCompileCache } = await import('./compile-cache.js');

const dirs = () => {
  const root = mkdtempSync(join(tmpdir(), 'loopiq-cc-'));
  return { root, env: { LOOPIQ_STATE_DIR: join(root, 'state') } };
};

describe('compile cache in the state dir', () => {
  beforeEach(() => {
    for (const k of Object.keys(fake.module)) Reflect.deleteProperty(fake.module, k);
  });

  it('does nothing on a Node without the API', () => {
    const { env } = dirs();
    expect(enableCompileCache(env)).toBeUndefined();
    expect(existsSync(env.LOOPIQ_STATE_DIR)).toBe(false);
  });

  it('puts the cache under the state dir, creating that dir owner-only as the gate would', () => {
    const { env } = dirs();
    const enable = vi.fn((dir: string) => ({ status: 1, directory: dir }));
    fake.module.enableCompileCache = enable;
    expect(enableCompileCache(env)).toBe(join(env.LOOPIQ_STATE_DIR, 'compile-cache'));
    expect(enable).toHaveBeenCalledWith(join(env.LOOPIQ_STATE_DIR, 'compile-cache'));
    expect(statSync(env.LOOPIQ_STATE_DIR).mode & 0o777).toBe(0o700);
  });

  it('never fails a start: an unwritable state dir or a failing API only means no cache', () => {
    const { root } = dirs();
    writeFileSync(join(root, 'a-file'), '');
    const enable = vi.fn(() => ({ status: 1, directory: 'x' }));
    fake.module.enableCompileCache = enable;
    expect(enableCompileCache({ LOOPIQ_STATE_DIR: join(root, 'a-file', 'state') })).toBeUndefined();
    expect(enable).not.toHaveBeenCalled();

    fake.module.enableCompileCache = () => {
      throw new Error('EACCES');
    };
    expect(enableCompileCache(dirs().env)).toBeUndefined();
    // Node reports a directory it could not use with a status and no directory.
    fake.module.enableCompileCache = () => ({ status: 0, message: 'cannot write' });
    expect(enableCompileCache(dirs().env)).toBeUndefined();
  });

  it('flushing is optional and never throws', () => {
    expect(() => { flushCompileCache(); }).not.toThrow();
    const flush = vi.fn(() => {
      throw new Error('EROFS');
    });
    fake.module.flushCompileCache = flush;
    expect(() => { flushCompileCache(); }).not.toThrow();
    expect(flush).toHaveBeenCalledOnce();
  });
});

import { nodeCrypto } from '../util/node-crypto.js';
import { chmod, lstat, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Keychain } from '../auth/keychain.js';
import { writeFileAtomic } from '../config/files.js';
import { log } from '../util/log.js';

/** One small secret value the gate keeps outside the files an agent can write. */
export interface SecretSlot {
  readonly where: string;
  get(): Promise<string | null>;
  set(value: string): Promise<void>;
}

/** In the OS keychain (service loopiq-mcp, a fixed account per purpose). */
export const keychainSlot = (account: string, env: NodeJS.ProcessEnv): SecretSlot => {
  const k = new Keychain(account, env);
  return { where: `the OS keychain (${account})`, get: () => k.get(), set: (v) => k.set(v) };
};

/** A 0600 file in the state dir: the fallback when no keychain is reachable (weaker; see docs/threat-model.md). */
export const fileSlot = (path: string): SecretSlot => ({
  where: path,
  async get() {
    try {
      if ((await lstat(path)).isSymbolicLink()) throw new Error(`${path} is a symbolic link; refusing to use it.`);
      return (await readFile(path, 'utf8')).trim() || null;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  },
  async set(v) {
    await mkdir(join(path, '..'), { recursive: true, mode: 0o700 });
    await writeFileAtomic(path, v);
    await chmod(path, 0o600);
  },
});

/**
 * The keychain when it answers, else the file. Decided once per process, so one process never mixes
 * the two; a process without a keychain says so once on stderr.
 */
export function preferKeychain(account: string, fallbackPath: string, env: NodeJS.ProcessEnv): () => Promise<SecretSlot> {
  let chosen: Promise<SecretSlot> | undefined;
  return () =>
    (chosen ??= (async () => {
      if (env.LOOPIQ_GATE_SECRETS === 'file') return fileSlot(fallbackPath);
      const slot = keychainSlot(account, env);
      try {
        await slot.get();
        return slot;
      } catch {
        log.warn(`no OS keychain reachable: approvals and the audit anchor are kept in ${fallbackPath} (protected by file permissions only).`);
        return fileSlot(fallbackPath);
      }
    })());
}

export const randomSecret = () => nodeCrypto().randomBytes(32).toString('hex');

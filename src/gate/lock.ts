import { mkdir, rm, stat } from 'node:fs/promises';

/**
 * A short cross-process mutex (a directory created atomically). Held for milliseconds around a
 * file update, never across a call; a lock older than `staleMs` is taken over (its holder died).
 */
export async function withLock<T>(path: string, fn: () => Promise<T>, staleMs = 5_000): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await mkdir(path);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const age = await stat(path).then((s) => Date.now() - s.mtimeMs, () => 0);
      if (age > staleMs) await rm(path, { recursive: true, force: true });
      else if (Date.now() > deadline) throw new Error(`timed out waiting for lock ${path}`, { cause: err });
      else await new Promise((r) => setTimeout(r, 5 + Math.random() * 10));
    }
  }
  try {
    return await fn();
  } finally {
    await rm(path, { recursive: true, force: true });
  }
}

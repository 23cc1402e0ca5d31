import { PassThrough } from 'node:stream';
import type { SecretStore } from '../../src/auth/keychain.js';
import type { Io } from '../../src/commands/context.js';

/** A secret store in memory, one per origin, for in-process command tests (the e2e tests use the real keychain). */
export class MemoryKeychains {
  readonly tokens = new Map<string, string>();
  for = (origin: string): SecretStore => ({
    get: () => Promise.resolve(this.tokens.get(origin) ?? null),
    set: (s) => {
      this.tokens.set(origin, s);
      return Promise.resolve();
    },
    delete: () => Promise.resolve(this.tokens.delete(origin)),
  });
}

/** Streams a command writes to, captured; stdin is a PassThrough the test may write to. */
export function memoryIo(env: NodeJS.ProcessEnv, keychains = new MemoryKeychains(), input?: string) {
  const out: string[] = [];
  const err: string[] = [];
  const stdin = new PassThrough() as PassThrough & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
  if (input !== undefined) stdin.end(input);
  const io: Io = {
    env,
    stdin,
    stdout: { write: (s: string) => out.push(s) },
    stderr: { write: (s: string) => err.push(s) },
    keychain: (origin) => keychains.for(origin),
  };
  return { io, stdin, keychains, stdout: () => out.join(''), stderr: () => err.join('') };
}

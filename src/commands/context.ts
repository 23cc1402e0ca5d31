import { ApiClient } from '../api/client.js';
import { LoopIqError } from '../api/errors.js';
import { Keychain, type SecretStore } from '../auth/keychain.js';
import { StaticTokenSource } from '../auth/token-source.js';
import { createTokenSource } from '../auth/tokens.js';
import { resolveSettings, type GlobalFlags, type Settings } from '../config/settings.js';
import { userAgent } from '../util/user-agent.js';

/** What a terminal command needs; tests pass their own streams and environment. */
export interface Io {
  env: NodeJS.ProcessEnv;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
}

export const processIo = (): Io => ({ env: process.env, stdin: process.stdin, stdout: process.stdout, stderr: process.stderr });

export interface CommandContext {
  settings: Settings;
  io: Io;
  keychain: SecretStore;
  /** An API client for an explicit token (login, rotate). */
  apiWith(token: string): ApiClient;
  /** An API client with the configured token source (env, else keychain). */
  api(): ApiClient;
  print(line?: string): void;
  json(value: unknown): void;
}

export async function commandContext(flags: GlobalFlags, io: Io = processIo()): Promise<CommandContext> {
  const settings = await resolveSettings(flags, io.env);
  const keychain = new Keychain(settings.apiOrigin, io.env);
  const make = (tokens: ConstructorParameters<typeof ApiClient>[0]['tokens']) =>
    new ApiClient({ baseUrl: settings.apiUrl, tokens, userAgent: () => userAgent(), env: io.env, timeoutMs: 15_000 });
  return {
    settings,
    io,
    keychain,
    apiWith: (token) => make(new StaticTokenSource('env', token)),
    api: () => make(createTokenSource(settings, keychain)),
    print: (line = '') => io.stdout.write(`${line}\n`),
    json: (value) => io.stdout.write(`${JSON.stringify(value, null, 2)}\n`),
  };
}

/** `login` and `rotate` manage the keychain token; LOOPIQ_TOKEN would silently win over it. */
export function refuseWithEnvToken(io: Io, verb: string) {
  if (io.env.LOOPIQ_TOKEN) {
    throw new LoopIqError(
      'config_invalid',
      `Refusing to ${verb} while LOOPIQ_TOKEN is set: that token overrides the keychain, so the result would not be used.`,
      'Unset LOOPIQ_TOKEN (e.g. `unset LOOPIQ_TOKEN`) and run the command again.',
    );
  }
}

export function formatExpiry(expiresAt: string | null, now = Date.now()): { text: string; days: number | null } {
  if (!expiresAt) return { text: 'never expires', days: null };
  const days = Math.floor((Date.parse(expiresAt) - now) / 86_400_000);
  if (days < 0) return { text: `expired on ${expiresAt.slice(0, 10)}`, days };
  return { text: `expires ${expiresAt.slice(0, 10)} (in ${days} day${days === 1 ? '' : 's'})`, days };
}

import { ApiClient } from '../api/client.js';
import { LoopIqError } from '../api/errors.js';
import { Keychain, type SecretStore } from '../auth/keychain.js';
import { StaticTokenSource } from '../auth/token-source.js';
import { createTokenSource } from '../auth/tokens.js';
import { resolveSettings, type GlobalFlags, type ResolveOptions, type Settings } from '../config/settings.js';
import { inertJson } from '../util/inert.js';
import { addSecret, redact, redactDeep } from '../util/redact.js';
import { userAgent } from '../util/user-agent.js';

/**
 * What a terminal command needs; tests pass their own streams, environment and keychain, so each
 * command's branches run in-process.
 */
export interface Io {
  env: NodeJS.ProcessEnv;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
  /** The secret store for one API origin (default: the OS keychain). */
  keychain?: (origin: string, env: NodeJS.ProcessEnv) => SecretStore;
}

export const processIo = (): Io => ({ env: process.env, stdin: process.stdin, stdout: process.stdout, stderr: process.stderr });

export interface CommandContext {
  settings: Settings;
  io: Io;
  keychain: SecretStore;
  /** An API client for a token given to this command (login, rotate); the token is registered for redaction. */
  apiWith(token: string): ApiClient;
  /** An API client with the configured token source (env, else keychain). */
  api(): ApiClient;
  /** One line to stdout, redacted of every known token. API strings in it must already be `inert`. */
  print(line?: string): void;
  /** Pretty JSON to stdout, redacted of every known token. */
  json(value: unknown): void;
  /** One line to stderr, redacted. */
  warn(line: string): void;
}

export async function commandContext(flags: GlobalFlags, io: Io = processIo(), options: ResolveOptions = {}): Promise<CommandContext> {
  const settings = await resolveSettings(flags, io.env, options);
  const keychain = io.keychain?.(settings.apiOrigin, io.env) ?? new Keychain(settings.apiOrigin, io.env);
  const make = (tokens: ConstructorParameters<typeof ApiClient>[0]['tokens']) =>
    new ApiClient({ baseUrl: settings.apiUrl, tokens, userAgent: () => userAgent(), env: io.env, timeoutMs: 15_000 });
  addSecret(io.env.LOOPIQ_TOKEN?.trim());
  return {
    settings,
    io,
    keychain: registering(keychain),
    apiWith: (token) => {
      addSecret(token);
      return make(new StaticTokenSource('given', token));
    },
    api: () => make(createTokenSource(settings, registering(keychain))),
    print: (line = '') => io.stdout.write(`${redact(line)}\n`),
    // inertJson: still valid JSON that parses to the same value, with every hidden character escaped.
    json: (value) => io.stdout.write(`${inertJson(redactDeep(value))}\n`),
    warn: (line) => io.stderr.write(`${redact(line)}\n`),
  };
}

/** Every token read from or written to the store is known to `redact` from then on. */
function registering(store: SecretStore): SecretStore {
  return {
    get: async () => {
      const token = await store.get();
      addSecret(token);
      return token;
    },
    set: async (secret) => {
      addSecret(secret);
      await store.set(secret);
    },
    delete: () => store.delete(),
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

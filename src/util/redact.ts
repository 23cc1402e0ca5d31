import { fenceSafe, setOwn } from './json.js';
/**
 * Every secret this process knows (access tokens — current and previous —, refresh tokens). Any
 * string that came from outside passes `redact` before it reaches a tool result, a log line, the
 * audit log or CLI output (invariant 2): a hostile API that echoes the Authorization header gets
 * nothing back out.
 */
const secrets = new Set<string>();

/** Shorter strings are not treated as secrets: they would redact ordinary words. */
const MIN_SECRET = 8;

export const REDACTED = '[REDACTED]';

export function addSecret(secret: string | null | undefined): void {
  // Called with the token on every request: the encoded forms are computed once.
  if (!secret || secret.length < MIN_SECRET || secrets.has(secret)) return;
  secrets.add(secret);
  // The same secret as it may travel: URL-encoded, or inside a Basic/Bearer header in base64.
  const encoded = encodeURIComponent(secret);
  if (encoded !== secret) secrets.add(encoded);
  secrets.add(Buffer.from(secret).toString('base64').replace(/=+$/, ''));
  // And as a line on stdout spells it when it has characters JSON escapes: once in
  // structuredContent, and in the text copy as the fence writes it (fenceSafe), inside a JSON
  // string. A token of plain characters has none of these.
  const once = jsonEscaped(secret);
  for (const form of [once, fenceSafe(once), jsonEscaped(once), jsonEscaped(fenceSafe(once))]) if (form !== secret) secrets.add(form);
}

const jsonEscaped = (s: string) => JSON.stringify(s).slice(1, -1);

export function knownSecretCount(): number {
  return secrets.size;
}

export function redact(s: string): string {
  if (secrets.size === 0) return s;
  let out = s;
  for (const secret of secrets) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  return out;
}

export function containsSecret(s: string): boolean {
  for (const secret of secrets) if (s.includes(secret)) return true;
  return false;
}

/** Deep copy with every string (keys included) redacted; returns the input itself when nothing matched. */
export function redactDeep<T>(value: T): T {
  if (secrets.size === 0) return value;
  if (typeof value === 'string') return redact(value) as T;
  if (Array.isArray(value)) {
    let changed = false;
    const out: unknown[] = [];
    for (const v of value as unknown[]) {
      const r = redactDeep(v);
      if (r !== v) changed = true;
      out.push(r);
    }
    return (changed ? out : value) as T;
  }
  if (value && typeof value === 'object') {
    let changed = false;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      const rk = redact(k);
      const rv = redactDeep(v);
      if (rk !== k || rv !== v) changed = true;
      setOwn(out, rk, rv);
    }
    return (changed ? out : value) as T;
  }
  return value;
}

/** For tests. */
export function clearSecrets(): void {
  secrets.clear();
}

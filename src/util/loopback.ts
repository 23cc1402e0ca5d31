import { LoopIqError } from '../api/errors.js';

/**
 * Plain http is allowed only to this machine: an IPv4 literal in 127.0.0.0/8, `[::1]`, or
 * `localhost`. Exact, not a prefix match (`127.evil.example`, `127.0.0.1.nip.io` are remote).
 * `hostname` is as the WHATWG URL parser gives it (IPv4 forms like `127.1` already normalized).
 */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  if (host === 'localhost' || host === '[::1]') return true;
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  return !!m && m[1] === '127' && m.slice(2).every((o) => Number(o) <= 255);
}

/**
 * A URL a token may be sent to: https, or http to loopback only; no credentials in it.
 * `what` names the setting in errors ("LOOPIQ_API_URL", "--mcp-url", …).
 */
export function secureUrl(raw: string, what: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new LoopIqError('config_invalid', `${what}: "${raw}" is not a URL.`, `Use a full URL, e.g. https://ai.loopiq.com.`);
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) {
    throw new LoopIqError(
      'config_invalid',
      `${what}: ${url.protocol === 'http:' ? url.origin : `"${raw}"`} is not https; the token would travel in clear text.`,
      'Use an https:// URL (plain http is allowed only for this machine: 127.0.0.1, [::1] or localhost).',
    );
  }
  if (url.username || url.password) {
    throw new LoopIqError('config_invalid', `${what} must not contain credentials.`, 'Remove user:password@ from the URL.');
  }
  return url;
}

import { VERSION } from '../version.js';

const clean = (s: string) => s.replace(/[^\x20-\x7E]/g, '').replace(/[()/;]/g, ' ').trim().slice(0, 64) || 'unknown';

/** `loopiq-mcp/<version> (<client>/<client version>; node/<version>; <platform>)` */
export function userAgent(client: { name?: string; version?: string } = {}): string {
  const who = client.name ? `${clean(client.name)}/${clean(client.version ?? '0')}` : 'cli';
  return `loopiq-mcp/${VERSION} (${who}; node/${process.version}; ${process.platform}-${process.arch})`;
}

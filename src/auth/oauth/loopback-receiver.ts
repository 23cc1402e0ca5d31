/**
 * The redirect target of `login --web` (RFC 8252 §7.3): a listener on 127.0.0.1 at a random port
 * that takes exactly one request to /callback, holds the browser's page until the login has been
 * checked, then closes. Anything else gets a 404 and does not count as the one use.
 */
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LoopIqError } from '../../api/errors.js';

export interface Callback {
  /** The full redirect URL as received (code, state, iss, or error). */
  url: URL;
  /** Answer the browser and close the listener. */
  finish: (ok: boolean, detail: string) => void;
}

export interface LoopbackReceiver {
  redirectUri: string;
  callback: Promise<Callback>;
  close(): void;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(ok: boolean, detail: string) {
  const title = ok ? 'Logged in to LoopIQ' : 'LoopIQ login failed';
  return `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head><body style="font-family:sans-serif;max-width:36em;margin:4em auto"><h1>${title}</h1><p>${escapeHtml(detail)}</p><p>You can close this tab and return to the terminal.</p></body></html>`;
}

export async function startLoopbackReceiver(timeoutMs: number): Promise<LoopbackReceiver> {
  let settle!: { resolve: (c: Callback) => void; reject: (e: Error) => void };
  const callback = new Promise<Callback>((resolve, reject) => (settle = { resolve, reject }));
  callback.catch(() => {});
  let used = false;
  let pending: ServerResponse | undefined;
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', `http://${req.headers.host ?? '127.0.0.1'}`);
    if (req.method !== 'GET' || url.pathname !== '/callback' || used) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found.\n');
      return;
    }
    used = true;
    pending = res;
    clearTimeout(timer);
    const fixed = new URL(`${redirectUri}${url.search}`);
    settle.resolve({ url: fixed, finish });
  });
  const finish = (ok: boolean, detail: string) => {
    pending?.writeHead(ok ? 200 : 400, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', connection: 'close' }).end(page(ok, detail));
    pending = undefined;
    close();
  };
  const close = () => {
    clearTimeout(timer);
    server.close();
    server.closeAllConnections();
  };
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      resolve();
    });
  });
  const redirectUri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/callback`;
  const timer = setTimeout(() => {
    close();
    settle.reject(new LoopIqError('timeout', `No login arrived from the browser within ${Math.round(timeoutMs / 1000)} s.`, 'Run `loopiq-mcp login --web` again (or use --device on a machine without a browser).'));
  }, timeoutMs);
  timer.unref();
  return { redirectUri, callback, close };
}

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { DeadlineError, exchange } from './http-exchange.js';

/** A real HTTP server on localhost; `route` answers each request (or leaves it hanging). */
async function serve(route: (req: IncomingMessage, res: ServerResponse) => void) {
  const server = createServer(route);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = (path: string) => new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`);
  return { url, close: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }) };
}

const tooLarge = (status: number) => new Error(`too large (${status})`);
const GET = { method: 'GET', headers: {} };
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

describe('one HTTP exchange', () => {
  it('reads the body whole and gives status and headers', async () => {
    const api = await serve((_req, res) => { res.setHeader('retry-after', '3'); res.end('{"a":1}'); });
    const agent = new Agent();
    cleanups.push(api.close, () => agent.close());
    expect(await exchange(agent, api.url('/x'), GET, { timeoutMs: 5_000, maxBytes: 100, tooLarge })).toMatchObject({ status: 200, text: '{"a":1}', headers: { 'retry-after': '3' } });
  });

  it('a deadline that passes while every socket is busy ends the exchange then, not when a socket frees up', async () => {
    let release: () => void = () => undefined;
    let fastServed = 0;
    const api = await serve((req, res) => {
      if (req.url === '/slow') release = () => res.end('slow');
      else {
        fastServed++;
        res.end('fast');
      }
    });
    const agent = new Agent({ connections: 1 });
    cleanups.push(api.close, () => agent.close());
    let slowDone = false;
    const slow = exchange(agent, api.url('/slow'), GET, { timeoutMs: 10_000, maxBytes: 100, tooLarge }).then((r) => {
      slowDone = true;
      return r.text;
    });
    const queued = exchange(agent, api.url('/fast'), GET, { timeoutMs: 100, maxBytes: 100, tooLarge });
    const err = await queued.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeadlineError);
    expect((err as DeadlineError).answering).toBe(false);
    // It ended while the only socket was still held: the slow exchange had not finished.
    expect(slowDone).toBe(false);
    release();
    expect(await slow).toBe('slow');
    // The queued request was dropped, not sent later: the next one gets the socket.
    expect((await exchange(agent, api.url('/fast'), GET, { timeoutMs: 5_000, maxBytes: 100, tooLarge })).text).toBe('fast');
    expect(fastServed).toBe(1);
  });

  it('a body declared larger than the cap is refused on its headers, before any of it arrives', async () => {
    const api = await serve((_req, res) => {
      res.writeHead(200, { 'content-length': String(10_000_000) });
      res.flushHeaders(); // and then nothing: waiting for the body would wait for ever
    });
    const agent = new Agent();
    cleanups.push(api.close, () => agent.close());
    await expect(exchange(agent, api.url('/big'), GET, { timeoutMs: 10_000, maxBytes: 1_000, tooLarge })).rejects.toThrow('too large (200)');
  });

  it('a streamed body past the cap is refused as it crosses it', async () => {
    const api = await serve((_req, res) => {
      res.write('x'.repeat(800));
      setTimeout(() => res.write('x'.repeat(800)), 20); // then never ends
    });
    const agent = new Agent();
    cleanups.push(api.close, () => agent.close());
    await expect(exchange(agent, api.url('/stream'), GET, { timeoutMs: 10_000, maxBytes: 1_000, tooLarge })).rejects.toThrow('too large (200)');
  });

  it('a body that drips past the deadline ends there, marked as answering', async () => {
    const api = await serve((_req, res) => {
      res.write('{');
      const drip = setInterval(() => res.write(' '), 20);
      res.on('close', () => { clearInterval(drip); });
    });
    const agent = new Agent();
    cleanups.push(api.close, () => agent.close());
    const err = await exchange(agent, api.url('/drip'), GET, { timeoutMs: 400, maxBytes: 100_000, tooLarge }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeadlineError);
    expect((err as DeadlineError).answering).toBe(true);
  });

  it('cancellation ends the exchange and closes the request at the server', async () => {
    const seen = { arrived: false, closed: false };
    const api = await serve((_req, res) => {
      seen.arrived = true;
      res.on('close', () => { seen.closed = true; });
    });
    const agent = new Agent();
    cleanups.push(api.close, () => agent.close());
    const ac = new AbortController();
    const pending = exchange(agent, api.url('/hang'), GET, { timeoutMs: 10_000, maxBytes: 100, tooLarge, signal: ac.signal });
    for (let i = 0; i < 500 && !seen.arrived; i++) await new Promise((r) => setTimeout(r, 10));
    ac.abort();
    await expect(pending).rejects.toThrow('cancelled');
    for (let i = 0; i < 500 && !seen.closed; i++) await new Promise((r) => setTimeout(r, 10));
    expect(seen.closed).toBe(true);
    // Already cancelled: nothing is sent at all.
    await expect(exchange(agent, api.url('/hang'), GET, { timeoutMs: 10_000, maxBytes: 100, tooLarge, signal: ac.signal })).rejects.toThrow('cancelled');
  });
});

describe('informational answers', () => {
  it('a 103 Early Hints is not the answer: a server silent after it has not begun answering', async () => {
    // A raw TCP server: node:http would not send a bare 1xx and then nothing.
    const { createServer: tcp } = await import('node:net');
    const server = tcp((socket) => {
      socket.once('data', () => {
        socket.write('HTTP/1.1 103 Early Hints\r\nlink: </a>; rel=preload\r\n\r\n');
      });
      socket.on('error', () => undefined);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const agent = new Agent();
    cleanups.push(() => new Promise((r) => server.close(r)), () => agent.destroy());
    const url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/early`);
    const err = await exchange(agent, url, GET, { timeoutMs: 300, maxBytes: 100, tooLarge }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeadlineError);
    expect((err as DeadlineError).answering).toBe(false);
  });

  it('after a 103, the final answer is the one returned', async () => {
    const { createServer: tcp } = await import('node:net');
    const server = tcp((socket) => {
      socket.once('data', () => {
        socket.write('HTTP/1.1 103 Early Hints\r\nlink: </a>; rel=preload\r\n\r\n');
        setTimeout(() => socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\nx-final: 1\r\n\r\n{}'), 20);
      });
      socket.on('error', () => undefined);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const agent = new Agent();
    cleanups.push(() => new Promise((r) => server.close(r)), () => agent.destroy());
    const url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/early`);
    expect(await exchange(agent, url, GET, { timeoutMs: 5_000, maxBytes: 100, tooLarge })).toMatchObject({ status: 200, text: '{}', headers: { 'x-final': '1' } });
  });
});

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { ListToolsRequestSchema, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { LowLevelServer } from './low-level-server.js';
import { serveToolCalls, type CallExtra, type ToolCallHandler } from './tool-call-lane.js';

/** A real SDK server with tools/call on the lane, a real SDK client, and every message the server sent. */
async function connect(handler: ToolCallHandler) {
  const server = serveToolCalls(new LowLevelServer({ name: 't', version: '0' }, { capabilities: { tools: {} } }), handler);
  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: [{ name: 'echo', inputSchema: { type: 'object' } }] }));
  const [serverSide, clientSide] = InMemoryTransport.createLinkedPair();
  const sent: JSONRPCMessage[] = [];
  const send = serverSide.send.bind(serverSide);
  serverSide.send = (m, o) => {
    sent.push(m);
    return send(m, o);
  };
  const client = new Client({ name: 'c', version: '0' });
  await Promise.all([server.connect(serverSide), client.connect(clientSide)]);
  return { server, client, sent };
}

const text = (t: string) => ({ content: [{ type: 'text' as const, text: t }] });
const until = async (ok: () => boolean) => {
  for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(ok()).toBe(true);
};

describe('tools/call on its own lane', () => {
  it('answers calls with what the handler returns; every other request still reaches the SDK', async () => {
    const { client } = await connect((p) => Promise.resolve(text(`${p.name} ${JSON.stringify(p.arguments)}`)));
    expect(await client.callTool({ name: 'echo', arguments: { a: 1 } })).toEqual(text('echo {"a":1}'));
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['echo']);
    await expect(client.ping()).resolves.toEqual({});
  });

  it('a handler that throws is answered as a JSON-RPC internal error, and the server goes on', async () => {
    let n = 0;
    const { client } = await connect(() => (n++ === 0 ? Promise.reject(new Error('boom')) : Promise.resolve(text('fine'))));
    await expect(client.callTool({ name: 'echo' })).rejects.toMatchObject({ code: -32603, message: expect.stringContaining('boom') as string });
    expect(await client.callTool({ name: 'echo' })).toEqual(text('fine'));
  });

  it('a cancelled call has its signal aborted with the reason and is never answered', async () => {
    let seen: CallExtra | undefined;
    const { client, sent } = await connect(
      (_p, extra) =>
        new Promise((resolve) => {
          seen = extra;
          // Answers only once cancelled: that answer must not be sent.
          extra.signal.addEventListener('abort', () => { setTimeout(() => { resolve(text('too late')); }, 10); });
        }),
    );
    const ac = new AbortController();
    const call = client.callTool({ name: 'echo' }, undefined, { signal: ac.signal });
    await until(() => seen !== undefined);
    ac.abort('user pressed stop');
    await expect(call).rejects.toThrow();
    await until(() => seen!.signal.aborted);
    expect(seen!.signal.reason).toBe('user pressed stop');
    await new Promise((r) => setTimeout(r, 50));
    expect(sent.filter((m) => 'id' in m && m.id === seen!.requestId)).toEqual([]);
  });

  it('closing the connection aborts every call in flight', async () => {
    const signals: AbortSignal[] = [];
    const { client } = await connect((_p, extra) => new Promise(() => { signals.push(extra.signal); }));
    const calls = [client.callTool({ name: 'echo' }).catch(() => 'closed'), client.callTool({ name: 'echo' }).catch(() => 'closed')];
    await until(() => signals.length === 2);
    await client.close();
    expect(await Promise.all(calls)).toEqual(['closed', 'closed']);
    await until(() => signals.every((s) => s.aborted));
  });

  it('progress goes to the client that asked for it, tied to its call', async () => {
    const { client } = await connect(async (_p, extra) => {
      if (extra.progressToken !== undefined) await extra.sendNotification({ method: 'notifications/progress', params: { progressToken: extra.progressToken, progress: 1, message: 'halfway' } });
      return text('done');
    });
    const progress: string[] = [];
    expect(await client.callTool({ name: 'echo' }, undefined, { onprogress: (p) => progress.push(p.message ?? '') })).toEqual(text('done'));
    expect(progress).toEqual(['halfway']);
  });

  it('without the stdin guard in front, a call without a usable name or arguments is refused as invalid params', async () => {
    const server = serveToolCalls(new LowLevelServer({ name: 't', version: '0' }, { capabilities: { tools: {} } }), () => Promise.resolve(text('never')));
    const [serverSide, raw] = InMemoryTransport.createLinkedPair();
    const replies: JSONRPCMessage[] = [];
    raw.onmessage = (m) => replies.push(m);
    await server.connect(serverSide);
    await raw.start();
    for (const [id, params] of [[1, { name: 5 }], [2, { name: 'echo', arguments: [1] }], [3, { name: 'echo', arguments: 'x' }]] as const) {
      await raw.send({ jsonrpc: '2.0', id, method: 'tools/call', params: params as unknown as Record<string, unknown> });
    }
    await until(() => replies.length === 3);
    expect(replies.map((r) => ('error' in r ? [r.id, r.error.code] : r))).toEqual([[1, -32602], [2, -32602], [3, -32602]]);
  });

  it('handlers set on the transport before it was connected still run (errors are still logged, close still seen)', async () => {
    const server = serveToolCalls(new LowLevelServer({ name: 't', version: '0' }, { capabilities: { tools: {} } }), () => Promise.resolve(text('x')));
    const [serverSide] = InMemoryTransport.createLinkedPair();
    const seen: string[] = [];
    serverSide.onerror = (e) => seen.push(`error: ${e.message}`);
    serverSide.onclose = () => seen.push('closed');
    await server.connect(serverSide);
    serverSide.onerror(new Error('EIO read'));
    await server.close();
    // (The in-memory pair reports its close once per side.)
    expect([...new Set(seen)]).toEqual(['error: EIO read', 'closed']);
  });

  it('only the notification cancels: a request named notifications/cancelled leaves the call running and is answered by the SDK', async () => {
    let signal: AbortSignal | undefined;
    const server = serveToolCalls(new LowLevelServer({ name: 't', version: '0' }, { capabilities: { tools: {} } }), (_p, extra) => {
      signal = extra.signal;
      return new Promise(() => undefined);
    });
    const [serverSide, raw] = InMemoryTransport.createLinkedPair();
    const replies: JSONRPCMessage[] = [];
    raw.onmessage = (m) => replies.push(m);
    await server.connect(serverSide);
    await raw.start();
    await raw.send({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo' } });
    await until(() => signal !== undefined);
    await raw.send({ jsonrpc: '2.0', id: 2, method: 'notifications/cancelled', params: { requestId: 1, reason: 'r' } });
    await until(() => replies.length === 1);
    expect(replies[0]).toMatchObject({ id: 2, error: { code: -32601 } });
    expect(signal!.aborted).toBe(false);
    await raw.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 1, reason: 'r' } });
    await until(() => signal!.aborted);
  });

  it('a call asking to run as a task is refused unrun (no task support is declared), as the SDK refused it', async () => {
    let ran = false;
    const server = serveToolCalls(new LowLevelServer({ name: 't', version: '0' }, { capabilities: { tools: {} } }), () => {
      ran = true;
      return Promise.resolve(text('ran'));
    });
    const [serverSide, raw] = InMemoryTransport.createLinkedPair();
    const replies: JSONRPCMessage[] = [];
    raw.onmessage = (m) => replies.push(m);
    await server.connect(serverSide);
    await raw.start();
    await raw.send({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', task: { ttl: 1000 } } });
    await until(() => replies.length === 1);
    expect(replies[0]).toMatchObject({ id: 1, error: { code: -32603, message: expect.stringContaining('task') as string } });
    expect(ran).toBe(false);
  });

  it("a thrown error's own JSON-RPC code and data are kept, as the SDK keeps them", async () => {
    const { client } = await connect(() => Promise.reject(Object.assign(new Error('bad cursor'), { code: -32602, data: { field: 'cursor' } })));
    await expect(client.callTool({ name: 'echo' })).rejects.toMatchObject({ code: -32602, data: { field: 'cursor' } });
  });
});

/**
 * The baseline for `npm run bench`: the smallest useful MCP server that does the same job (one
 * read tool making the same GET with the same HTTP stack), bundled and minified with the same
 * tsup settings as loopiq-mcp, undici split out and loaded on first use as loopiq-mcp does.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { Dispatcher } from 'undici';
import { z } from 'zod';

const base = process.env.LOOPIQ_API_URL!;
const headers = { authorization: `Bearer ${process.env.LOOPIQ_TOKEN}`, 'loopiq-organization': process.env.LOOPIQ_ORG_ID!, accept: 'application/json' };
let undici: Promise<typeof import('undici')> | undefined;
const loadUndici = () => (undici ??= import('undici').then((m) => ('Agent' in m ? m : (m as unknown as { default: typeof m }).default)));
let agent: Dispatcher | undefined;

const server = new McpServer({ name: 'minimal', version: '0.0.0' });
server.registerTool(
  'get_release',
  { description: 'One release.', inputSchema: { id: z.string() }, annotations: { readOnlyHint: true } },
  async ({ id }) => {
    const { Agent, request } = await loadUndici();
    agent ??= new Agent({ keepAliveTimeout: 30_000, connections: 16 });
    const res = await request(`${base}/api/v1/releases/${encodeURIComponent(id)}`, { dispatcher: agent, headers });
    const text = await res.body.text();
    if (res.statusCode !== 200) return { isError: true, content: [{ type: 'text', text }] };
    return { content: [{ type: 'text', text }] };
  },
);
await server.connect(new StdioServerTransport());

// Upstream mode figures: the added latency of the loopiq-mcp hop (stdio → hosted MCP endpoint)
// against calling the sandbox's /mcp directly, and the cold start with a cached tool list.
// Run after `npm run build`:  node bench/upstream.mjs [calls=300] [starts=10]
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const CALLS = Number(process.argv[2] ?? 300);
const STARTS = Number(process.argv[3] ?? 10);
const TOKEN = 'lqp_sandbox_alex_2f9c1e';
const ORG = 'org_acme';
const PORT = 18000 + Math.floor(Math.random() * 1000);
const URL_ = `http://127.0.0.1:${PORT}/mcp`;
const ARGS = { name: 'loopiq_get_release_certification', arguments: { certificationId: 'cert_acme_2' } };

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const fmt = (ms) => `${ms.toFixed(2)} ms`;

/** Alternating calls, so both paths see the same machine load (the host is shared). */
async function timeCalls(a, b) {
  for (let i = 0; i < 20; i++) await Promise.all([a.callTool(ARGS), b.callTool(ARGS)]); // warm-up
  const ta = [];
  const tb = [];
  for (let i = 0; i < CALLS; i++) {
    for (const [client, out] of i % 2 ? [[a, ta], [b, tb]] : [[b, tb], [a, ta]]) {
      const t = performance.now();
      const r = await client.callTool(ARGS);
      out.push(performance.now() - t);
      if (r.isError) throw new Error(JSON.stringify(r));
    }
  }
  return [ta, tb];
}

const sandbox = spawn(process.execPath, [CLI, 'sandbox', '--port', String(PORT)], { stdio: ['ignore', 'pipe', 'inherit'] });
await new Promise((resolve) => sandbox.stdout.on('data', (c) => String(c).includes('SANDBOX') && resolve()));
try {
  const direct = new Client({ name: 'bench-direct', version: '0' });
  await direct.connect(new StreamableHTTPClientTransport(new URL(URL_), { requestInit: { headers: { authorization: `Bearer ${TOKEN}`, 'loopiq-organization': ORG } } }));

  const home = mkdtempSync(join(tmpdir(), 'loopiq-bench-'));
  const env = { PATH: process.env.PATH, HOME: home, LOOPIQ_STATE_DIR: join(home, 'state'), LOOPIQ_CONFIG_DIR: join(home, 'config'), LOOPIQ_TOKEN: TOKEN, LOOPIQ_ORG: ORG, LOOPIQ_GATE_SECRETS: 'file' };
  const proxied = new Client({ name: 'bench-proxy', version: '0' });
  await proxied.connect(new StdioClientTransport({ command: process.execPath, args: [CLI, 'serve', '--mcp-url', URL_], env, stderr: 'ignore' }));
  const [d, p] = await timeCalls(direct, proxied);
  await direct.close();
  await proxied.close();

  // Cold start: spawn → initialize → tools/list answered, the tool list cached by the run above.
  const starts = [];
  for (let i = 0; i < STARTS; i++) {
    const t = performance.now();
    const c = new Client({ name: 'bench-cold', version: '0' });
    await c.connect(new StdioClientTransport({ command: process.execPath, args: [CLI, 'serve', '--mcp-url', URL_], env, stderr: 'ignore' }));
    const { tools } = await c.listTools();
    starts.push(performance.now() - t);
    if (tools.length < 3) throw new Error('cached tool list not served');
    await c.close();
  }

  console.log(`tool call, ${CALLS} sequential calls of ${ARGS.name}:`);
  console.log(`  direct to sandbox /mcp    p50 ${fmt(pct(d, 50))}  p99 ${fmt(pct(d, 99))}`);
  console.log(`  through loopiq-mcp        p50 ${fmt(pct(p, 50))}  p99 ${fmt(pct(p, 99))}`);
  console.log(`  added by the hop          p50 ${fmt(pct(p, 50) - pct(d, 50))}  p99 ${fmt(pct(p, 99) - pct(d, 99))}`);
  console.log(`cold start (spawn → tools/list answered, cached list), ${STARTS} runs: p50 ${fmt(pct(starts, 50))}  max ${fmt(Math.max(...starts))}`);
} finally {
  sandbox.kill();
}

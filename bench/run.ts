/**
 * `npm run bench`: loopiq-mcp against a baseline measured in the same run, on each Node given, as a
 * table of ratios and differences with the goal beside each figure. Not a test: it prints.
 *
 * Baseline: bench/baseline-server.ts, the minimal SDK server making the same GET with undici,
 * bundled and minified with the same tsup settings. The fake LoopIQ API runs in its own process.
 * Usage: node .bench/harness/run.js [--node <path-to-node> ...]
 */
import { fork, spawn, type ChildProcess, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Agent, request } from 'undici';
import { SANDBOX_TOKENS } from '../src/sandbox/seed.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const LOOPIQ = process.env.BENCH_LOOPIQ ?? join(ROOT, 'bin', 'loopiq-mcp.js');
const BASELINE = join(ROOT, '.bench', 'baseline', 'baseline-server.js');
const FAKE_API = join(ROOT, '.bench', 'harness', 'fake-api.js');
const GC_HOOK = join(ROOT, 'bench', 'gc-hook.mjs');
const COLD_RUNS = Number(process.env.BENCH_COLD_RUNS ?? 12);
const COLD_WARMUPS = 2;
const MEMORY_CALLS = 10_000;
const RECORD = 'rel_acme_2';
const TOKEN = SANDBOX_TOKENS.alex;

/** A bare JSON-RPC client over stdio (no SDK), so both servers pay the same client cost. */
class Rpc {
  private buf = '';
  private nextId = 1;
  private waiting = new Map<number, { res: (line: string) => void; rej: (e: Error) => void }>();
  stderr = '';
  constructor(readonly child: ChildProcessWithoutNullStreams) {
    child.stdout.on('data', (c: Buffer) => {
      this.buf += c.toString();
      let nl: number;
      while ((nl = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        const msg = JSON.parse(line) as { id?: number };
        if (typeof msg.id !== 'number') continue;
        this.waiting.get(msg.id)?.res(line);
        this.waiting.delete(msg.id);
      }
    });
    child.stderr.on('data', (c: Buffer) => (this.stderr += c.toString()));
    child.once('exit', () => {
      for (const w of this.waiting.values()) w.rej(new Error(`server exited: ${this.stderr.slice(-500)}`));
    });
  }
  static spawn(node: string, args: string[], env: NodeJS.ProcessEnv) {
    return new Rpc(spawn(node, args, { env, stdio: ['pipe', 'pipe', 'pipe'] }));
  }
  /** Resolves with the raw response line (its size is a figure). */
  raw(method: string, params: unknown = {}, prefix = ''): Promise<string> {
    const id = this.nextId++;
    return new Promise((res, rej) => {
      this.waiting.set(id, { res, rej });
      this.child.stdin.write(`${prefix}${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`);
    });
  }
  async request(method: string, params: unknown = {}, prefix = ''): Promise<{ result?: any; error?: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any -- the bench reads many differently shaped JSON-RPC results; a wrong field fails the bench loudly
    return JSON.parse(await this.raw(method, params, prefix)) as { result?: any; error?: any }; // eslint-disable-line @typescript-eslint/no-explicit-any -- see above
  }
  initialize() {
    return this.request('initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench', version: '1' } });
  }
  /** `notifications/initialized` and `tools/list` in one write, as SDK clients send them. */
  list() {
    return this.raw('tools/list', {}, '{"jsonrpc":"2.0","method":"notifications/initialized"}\n');
  }
  async call(name: string, args: Record<string, unknown>): Promise<string> {
    const line = await this.raw('tools/call', { name, arguments: args });
    if (!line.includes('"result"') || line.includes('"isError":true')) throw new Error(`${name} failed: ${line.slice(0, 300)} ${this.stderr.slice(-300)}`);
    return line;
  }
  /** CPU time of all the server's threads so far, in ms (Linux): steadier than wall time on a busy machine. */
  cpuMs(): number {
    let ns = 0;
    try {
      for (const t of readdirSync(`/proc/${this.child.pid}/task`)) ns += Number(readFileSync(`/proc/${this.child.pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      return NaN;
    }
    return ns / 1e6;
  }
  rssKb(): number {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${this.child.pid}/status`, 'utf8'));
    return Number(m?.[1] ?? NaN);
  }
  /** Full GC (bench/gc-hook.mjs), then RSS. */
  async gcRss(): Promise<number> {
    const seen = this.stderr.length;
    this.child.kill('SIGUSR2');
    for (let i = 0; i < 100 && !this.stderr.slice(seen).includes('bench-heap'); i++) await sleep(10);
    await sleep(200);
    return this.rssKb();
  }
  stop() {
    if (this.child.exitCode !== null) return Promise.resolve();
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.stdin.end();
    return exited;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
function quantile(xs: number[], q: number) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}
const median = (xs: number[]) => quantile(xs, 0.5);
const fmt = (n: number, d = 1) => n.toFixed(d);

/** The fake LoopIQ in a child process. */
class FakeApi {
  private next = 1;
  private pending = new Map<number, (v: unknown) => void>();
  private constructor(private readonly child: ChildProcess, readonly url: string) {
    child.on('message', (m: { id: number; value: unknown }) => this.pending.get(m.id)?.(m.value));
  }
  static start(): Promise<FakeApi> {
    const child = fork(FAKE_API, [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    return new Promise((res) => child.once('message', (m: { value: string }) => {
      res(new FakeApi(child, m.value));
    }));
  }
  private ask<T>(m: Record<string, unknown>): Promise<T> {
    const id = this.next++;
    return new Promise((res) => {
      this.pending.set(id, res as (v: unknown) => void);
      this.child.send({ id, ...m });
    });
  }
  connections = () => this.ask<number>({ kind: 'connections' });
  issueToken = (user: string) => this.ask<string>({ kind: 'issueToken', user });
  close() {
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.disconnect();
    return exited;
  }
}

interface Row {
  metric: string;
  value: string;
  baseline: string;
  compare: string;
  goal: string;
  ok: boolean | null;
}

interface Target {
  label: string;
  args: (extra?: string[]) => string[];
  env: NodeJS.ProcessEnv;
  tool: string;
}

async function suite(node: string, nodeNote: string, api: FakeApi): Promise<{ rows: Row[]; notes: string[] }> {
  const rows: Row[] = [];
  const notes: string[] = [];
  const version = await new Promise<string>((res) => {
    const c = spawn(node, ['-p', 'process.versions.node'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    c.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    c.once('exit', () => {
      res(out.trim());
    });
  });
  const major = Number(version.split('.')[0]);
  const home = mkdtempSync(join(tmpdir(), 'loopiq-bench-'));
  const path = { PATH: process.env.PATH ?? '', HOME: home };
  const loopiq: Target = {
    label: 'loopiq-mcp',
    args: (extra = []) => [...extra, LOOPIQ, 'serve'],
    env: { ...path, LOOPIQ_API_URL: api.url, LOOPIQ_TOKEN: TOKEN, LOOPIQ_ORG: 'acme', LOOPIQ_CONFIG_DIR: join(home, 'config'), LOOPIQ_STATE_DIR: join(home, 'state'), LOOPIQ_LOG_LEVEL: 'warn' },
    tool: 'loopiq_get_release',
  };
  const baseline: Target = {
    label: 'baseline',
    args: (extra = []) => [...extra, BASELINE],
    env: { ...path, LOOPIQ_API_URL: api.url, LOOPIQ_TOKEN: TOKEN, LOOPIQ_ORG_ID: 'org_acme' },
    tool: 'get_release',
  };

  /**
   * Spawn → initialize → initialized + tools/list → one read tool call, sent `idleMs` after the
   * tools/list answer (0: at once, the worst case for a server that warms up while idle).
   */
  const coldStart = async (t: Target, idleMs = 0, lingerMs = 0) => {
    const t0 = performance.now();
    const rpc = Rpc.spawn(node, t.args(), t.env);
    await rpc.initialize();
    const listLine = await rpc.list();
    const list = performance.now() - t0;
    const listCpu = rpc.cpuMs();
    if (idleMs) await sleep(idleMs);
    const t1 = performance.now();
    await rpc.call(t.tool, { id: RECORD });
    const first = performance.now() - t0;
    const call = performance.now() - t1;
    const firstCpu = rpc.cpuMs();
    if (lingerMs) await sleep(lingerMs);
    await rpc.stop();
    return { list, first, call, listCpu, firstCpu, listBytes: Buffer.byteLength(JSON.stringify((JSON.parse(listLine) as { result: unknown }).result)) };
  };

  // (a) + (b): cold starts, alternating A/B. The very first loopiq-mcp launch (no code cache yet)
  // and the warm-up runs are shown, not counted. The first launch stays 1 s after its answer, as
  // a client keeps its server: that is when loopiq-mcp stores its code cache for the next start.
  const firstEver = await coldStart(loopiq, 0, 1_000);
  const warm = { a: [] as number[], b: [] as number[] };
  for (let i = 0; i < COLD_WARMUPS; i++) {
    warm.a.push((await coldStart(loopiq)).first);
    warm.b.push((await coldStart(baseline)).first);
  }
  const A = { list: [] as number[], first: [] as number[], listCpu: [] as number[], firstCpu: [] as number[] };
  const B = { list: [] as number[], first: [] as number[], listCpu: [] as number[], firstCpu: [] as number[] };
  let listBytes = 0;
  for (let i = 0; i < COLD_RUNS; i++) {
    const a = await coldStart(loopiq);
    const b = await coldStart(baseline);
    for (const k of ['list', 'first', 'listCpu', 'firstCpu'] as const) {
      A[k].push(a[k]);
      B[k].push(b[k]);
    }
    listBytes = a.listBytes;
  }
  const goalA = major >= 24 ? 0.8 : 1.0;
  const goalB = major >= 24 ? 0.75 : 0.9;
  const rA = median(A.list) / median(B.list);
  const rB = median(A.first) / median(B.first);
  rows.push({ metric: `(a) spawn → tools/list answered (median of ${COLD_RUNS})`, value: `${fmt(median(A.list))} ms`, baseline: `${fmt(median(B.list))} ms`, compare: `${fmt(rA, 2)}×`, goal: `≤ ${fmt(goalA, 2)}×`, ok: rA <= goalA });
  rows.push({ metric: `(b) spawn → first read tool answered`, value: `${fmt(median(A.first))} ms`, baseline: `${fmt(median(B.first))} ms`, compare: `${fmt(rB, 2)}×`, goal: `≤ ${fmt(goalB, 2)}×`, ok: rB <= goalB });
  // (b') The same first call, sent after the client has been idle for a moment (as it is while a
  // model writes its first tool call): the answer time alone.
  const IDLE_MS = 500;
  const IDLE_RUNS = 5;
  const idleA: number[] = [];
  const idleB: number[] = [];
  for (let i = 0; i < IDLE_RUNS; i++) {
    idleA.push((await coldStart(loopiq, IDLE_MS)).call);
    idleB.push((await coldStart(baseline, IDLE_MS)).call);
  }
  const rI = median(idleA) / median(idleB);
  rows.push({ metric: `(b') first read tool, sent ${IDLE_MS} ms after tools/list (median of ${IDLE_RUNS})`, value: `${fmt(median(idleA))} ms`, baseline: `${fmt(median(idleB))} ms`, compare: `${fmt(rI, 2)}×`, goal: '≤ 0.50×', ok: rI <= 0.5 });
  notes.push(
    `warm-up launches (not counted), spawn → first answer: loopiq-mcp ${warm.a.map((x) => fmt(x)).join(', ')} ms; baseline ${warm.b.map((x) => fmt(x)).join(', ')} ms.`,
    `first loopiq-mcp launch with an empty state dir (no code cache yet): tools/list ${fmt(firstEver.list)} ms, first answer ${fmt(firstEver.first)} ms (not counted).`,
    `server CPU time (all threads, median), spawn → tools/list / → first answer: loopiq-mcp ${fmt(median(A.listCpu))} / ${fmt(median(A.firstCpu))} ms; baseline ${fmt(median(B.listCpu))} / ${fmt(median(B.firstCpu))} ms (ratios ${fmt(median(A.listCpu) / median(B.listCpu), 2)}× / ${fmt(median(A.firstCpu) / median(B.firstCpu), 2)}×).`,
    `spread over ${COLD_RUNS} launches, first answer p10–p90: loopiq-mcp ${fmt(quantile(A.first, 0.1))}–${fmt(quantile(A.first, 0.9))} ms; baseline ${fmt(quantile(B.first, 0.1))}–${fmt(quantile(B.first, 0.9))} ms.`,
  );

  // (d) Added latency: the same read through each stdio server vs the bench's own direct GET.
  const agent = new Agent({ connections: 4 });
  let recordBytes = 0;
  let recordText = '';
  const direct = async () => {
    const res = await request(`${api.url}/api/v1/releases/${RECORD}`, { dispatcher: agent, headers: { authorization: `Bearer ${TOKEN}`, 'loopiq-organization': 'org_acme' } });
    const text = await res.body.text();
    JSON.parse(text);
    recordBytes = Buffer.byteLength(text);
    recordText = text;
  };
  // The same GET as loopiq-mcp makes it (src/api/http-exchange.ts): straight on the dispatcher,
  // ~50 µs cheaper than request(). Measured beside the goal's reference, so that what the hop
  // itself adds is shown too, not only what it adds over the common way to make the GET.
  const directDispatch = () =>
    new Promise<void>((resolve, reject) => {
      const chunks: Buffer[] = [];
      const url = new URL(`${api.url}/api/v1/releases/${RECORD}`);
      agent.dispatch(
        { origin: url.origin, path: url.pathname, method: 'GET', headers: { authorization: `Bearer ${TOKEN}`, 'loopiq-organization': 'org_acme' } },
        {
          // undici takes a handler as the new (controller) kind only if it has onRequestStart.
          onRequestStart: () => undefined,
          onResponseData: (_c, chunk) => void chunks.push(chunk),
          onResponseEnd: () => {
            JSON.parse(Buffer.concat(chunks).toString('utf8'));
            resolve();
          },
          onResponseError: (_c, err) => { reject(err); },
        },
      );
    });
  const srv = Rpc.spawn(node, loopiq.args(), loopiq.env);
  await srv.initialize();
  await srv.list();
  // The baseline server in the same rounds, for reference: what the smallest SDK server adds.
  const base = Rpc.spawn(node, baseline.args(), baseline.env);
  await base.initialize();
  await base.list();
  let resultLine = '';
  const viaMcp = async () => void (resultLine = await srv.call(loopiq.tool, { id: RECORD }));
  const viaBaseline = async () => {
    await base.call(baseline.tool, { id: RECORD });
  };
  const WARM_CALLS = 300;
  for (let i = 0; i < WARM_CALLS; i++) {
    await direct();
    await directDispatch();
    await viaMcp();
    await viaBaseline();
  }
  // Three rounds of 1,500 calls each way, alternating blocks of 100; the median round is quoted,
  // so one noisy round (GC, the other core busy) does not decide the figure.
  const rounds: { d: number[]; m: number[]; b: number[]; x: number[] }[] = [];
  const cpu0 = srv.cpuMs();
  const baseCpu0 = base.cpuMs();
  for (let round = 0; round < 3; round++) {
    const d: number[] = [];
    const m: number[] = [];
    const b: number[] = [];
    const x: number[] = [];
    for (let block = 0; block < 15; block++) {
      for (let i = 0; i < 100; i++) {
        const t = performance.now();
        await direct();
        d.push(performance.now() - t);
      }
      for (let i = 0; i < 100; i++) {
        const t = performance.now();
        await directDispatch();
        x.push(performance.now() - t);
      }
      for (let i = 0; i < 100; i++) {
        const t = performance.now();
        await viaMcp();
        m.push(performance.now() - t);
      }
      for (let i = 0; i < 100; i++) {
        const t = performance.now();
        await viaBaseline();
        b.push(performance.now() - t);
      }
    }
    rounds.push({ d, m, b, x });
  }
  const cpuPerCall = ((srv.cpuMs() - cpu0) / (3 * 15 * 100)) * 1000;
  const baseCpuPerCall = ((base.cpuMs() - baseCpu0) / (3 * 15 * 100)) * 1000;
  await base.stop();
  const hopPick = (q: number) => rounds.map((r) => ({ m: quantile(r.m, q), x: quantile(r.x, q) })).sort((u, v) => u.m - u.x - (v.m - v.x))[1]!;
  const basePick = (q: number) => rounds.map((r) => quantile(r.b, q) - quantile(r.d, q)).sort((x, y) => x - y)[1]!;
  const pick = (q: number) => rounds.map((r) => ({ m: quantile(r.m, q), d: quantile(r.d, q) })).sort((x, y) => x.m - x.d - (y.m - y.d))[1]!;
  const p50 = pick(0.5);
  const p99 = pick(0.99);
  const signed = (ms: number) => `${ms < 0 ? '−' : '+'}${fmt(Math.abs(ms), 2)} ms`;
  rows.push({ metric: '(d) added latency per call, p50', value: `${fmt(p50.m, 2)} ms`, baseline: `${fmt(p50.d, 2)} ms direct GET`, compare: signed(p50.m - p50.d), goal: '≤ +0.30 ms', ok: p50.m - p50.d <= 0.3 });
  rows.push({ metric: '(d) added latency per call, p99', value: `${fmt(p99.m, 2)} ms`, baseline: `${fmt(p99.d, 2)} ms direct GET`, compare: signed(p99.m - p99.d), goal: '≤ +2.00 ms', ok: p99.m - p99.d <= 2 });
  const hop50 = hopPick(0.5);
  const hop99 = hopPick(0.99);
  notes.push(
    `the direct GET above is undici's request(), as the baseline server makes it; made the way loopiq-mcp makes it (undici's dispatcher, no body stream) it takes ${fmt(hop50.x, 2)} ms (p50), and against that loopiq-mcp adds ${signed(hop50.m - hop50.x)} (p50), ${signed(hop99.m - hop99.x)} (p99).`,
  );
  notes.push(`latency: ${WARM_CALLS} warm-up calls each way (not counted), then 3 rounds of 1,500 calls each way in alternating blocks of 100; the median round is quoted. CPU time per call: loopiq-mcp ${fmt(cpuPerCall, 0)} µs, baseline ${fmt(baseCpuPerCall, 0)} µs; in the same rounds the baseline server adds +${fmt(basePick(0.5), 2)} ms (p50), +${fmt(basePick(0.99), 2)} ms (p99).`);

  // (e) Cost of a result: bytes of the tools/call result per byte of the record. Both copies must
  // carry the data (Claude Code, VS Code and Codex show the model only structuredContent, Claude
  // Desktop only the text), and the text copy is JSON inside a JSON string (every quote escaped):
  // that floor is computed for this record. On top of it each copy carries labels (the summary
  // line, the data note, the organization): goal ≤ 256 B a copy. (e') is what a model actually
  // reads: the larger copy, the record plus its labels.
  const LABEL_BYTES = 256;
  const result = (JSON.parse(resultLine) as { result: { content: { text: string }[]; structuredContent: unknown } }).result;
  const resultBytes = Buffer.byteLength(JSON.stringify(result));
  const floorBytes = recordBytes + Buffer.byteLength(JSON.stringify(recordText));
  rows.push({ metric: '(e) result bytes on the wire per record byte', value: fmt(resultBytes / recordBytes, 2), baseline: `${String(recordBytes)} B record`, compare: `floor ${fmt(floorBytes / recordBytes, 2)} + ${String(resultBytes - floorBytes)} B`, goal: `≤ floor + ${String(2 * LABEL_BYTES)} B`, ok: resultBytes - floorBytes <= 2 * LABEL_BYTES });
  const readBytes = Math.max(Buffer.byteLength(result.content.map((c) => c.text).join('')), Buffer.byteLength(JSON.stringify(result.structuredContent)));
  rows.push({ metric: "(e') bytes a model reads per record byte", value: fmt(readBytes / recordBytes, 2), baseline: '', compare: `record + ${String(readBytes - recordBytes)} B`, goal: `≤ record + ${String(LABEL_BYTES)} B`, ok: readBytes - recordBytes <= LABEL_BYTES });
  rows.push({ metric: 'tools/list result size', value: `${fmt(listBytes / 1024, 1)} KB`, baseline: '', compare: '', goal: '≤ 12 KB', ok: listBytes <= 12 * 1024 });

  // Connections (same server).
  const c0 = await api.connections();
  for (let i = 0; i < 300; i++) await srv.call('loopiq_get_incident', { id: 'inc_acme_1' });
  const seq = (await api.connections()) - c0;
  rows.push({ metric: 'new TCP connections, 300 sequential calls', value: String(seq), baseline: '', compare: '', goal: '≤ 1', ok: seq <= 1 });
  const c1 = await api.connections();
  await Promise.all(Array.from({ length: 100 }, () => srv.call('loopiq_list_releases', {})));
  const par = (await api.connections()) - c1;
  rows.push({ metric: 'new TCP connections, 100 concurrent calls', value: String(par), baseline: '', compare: '', goal: '≤ 16 (pool)', ok: par <= 16 });
  await srv.stop();
  await agent.close();

  // (c) Memory after work: fresh servers, the same 10,000 calls, full GC, RSS.
  const mem = async (t: Target) => {
    const rpc = Rpc.spawn(node, t.args(['--expose-gc', '--import', GC_HOOK]), t.env);
    await rpc.initialize();
    await rpc.list();
    await sleep(500);
    const idle = await rpc.gcRss();
    for (let i = 0; i < 100; i++) await rpc.call(t.tool, { id: RECORD });
    const after100 = await rpc.gcRss();
    for (let i = 100; i < MEMORY_CALLS; i++) await rpc.call(t.tool, { id: RECORD });
    const after = await rpc.gcRss();
    await rpc.stop();
    return { idle, after100, after };
  };
  const mA = await mem(loopiq);
  const mB = await mem(baseline);
  const rC = mA.after / mB.after;
  rows.push({ metric: `(c) RSS after ${MEMORY_CALLS.toLocaleString('en')} calls, after GC`, value: `${fmt(mA.after / 1024)} MB`, baseline: `${fmt(mB.after / 1024)} MB`, compare: `${fmt(rC, 2)}×`, goal: '≤ 1.20×', ok: rC <= 1.2 });
  notes.push(
    `RSS after GC, idle after tools/list → after 100 calls → after ${MEMORY_CALLS.toLocaleString('en')}: loopiq-mcp ${[mA.idle, mA.after100, mA.after].map((k) => fmt(k / 1024)).join(' → ')} MB; baseline ${[mB.idle, mB.after100, mB.after].map((k) => fmt(k / 1024)).join(' → ')} MB.`,
  );
  return { rows, notes: [`node ${version} (${nodeNote})`, ...notes] };
}

function print(title: string, rows: Row[], notes: string[]) {
  const head: Row = { metric: 'metric', value: 'loopiq-mcp', baseline: 'baseline', compare: 'ratio / diff', goal: 'goal', ok: null };
  const cols = ['metric', 'value', 'baseline', 'compare', 'goal'] as const;
  const width = Object.fromEntries(cols.map((c) => [c, Math.max(...[head, ...rows].map((r) => r[c].length))]));
  const line = (r: Row, mark: string) => `${cols.map((c) => r[c].padEnd(width[c]!)).join('  ')}  ${mark}`.trimEnd();
  let out = `\n${title}\n${line(head, '')}\n`;
  for (const r of rows) out += `${line(r, r.ok === null ? '-' : r.ok ? 'ok' : 'MISS')}\n`;
  for (const n of notes) out += `  ${n}\n`;
  out += `  ${rows.filter((r) => r.ok === false).length} goal(s) missed.\n`;
  process.stdout.write(out);
}

async function main() {
  const nodes: { path: string; note: string }[] = [{ path: process.execPath, note: 'the Node running this bench' }];
  for (let i = 2; i < process.argv.length; i++) {
    if (process.argv[i] === '--node') nodes.push({ path: process.argv[++i]!, note: process.argv[i + 1] === '--note' ? process.argv[(i += 2)]! : 'given with --node' });
  }
  const api = await FakeApi.start();
  try {
    for (const n of nodes) {
      const { rows, notes } = await suite(n.path, n.note, api);
      print(`== ${notes[0]} ==`, rows, notes.slice(1));
    }
  } finally {
    await api.close();
  }
  process.stdout.write(`\nfake API: its own process (node ${process.versions.node}); ${process.platform}-${process.arch}, ${(await import('node:os')).cpus().length} cores.\n`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

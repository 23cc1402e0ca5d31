import { cpSync, mkdtempSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type RunningSandbox } from '../src/sandbox/fake-loopiq.js';
import { SANDBOX_TOKENS } from '../src/sandbox/seed.js';
import { RecordingStdioTransport } from '../src/util/stdio-probe.js';
import { baseEnv, CLI, tempHome, until } from './support/cli.js';

describe('the code cache, across real starts of the built CLI (serve.cjs through dist/cli.js)', () => {
  let sandbox: RunningSandbox;
  beforeAll(async () => {
    sandbox = await startSandbox();
  });
  afterAll(() => sandbox.close());

  /** One client session: start, list, one read, then stay until the server has dealt with its code cache. */
  async function session(cli: string, env: Record<string, string>, opts: { waitFor?: RegExp } = {}) {
    const transport = new RecordingStdioTransport(process.execPath, [cli, 'serve'], env);
    const client = new Client({ name: 'loopiq-test', version: '1' }, { capabilities: {} });
    await client.connect(transport);
    await client.listTools();
    const r = await client.callTool({ name: 'loopiq_get_release', arguments: { id: 'rel_acme_2' } });
    await until('the code cache line', () => /code cache: /.test(transport.stderr));
    if (opts.waitFor) await until(String(opts.waitFor), () => opts.waitFor!.test(transport.stderr));
    await client.close();
    expect(transport.nonJsonRpcStdout()).toEqual([]);
    expect(transport.stderr).not.toMatch(/\n\s+at |Error:/);
    return { result: r, stderr: transport.stderr, status: /code cache: (\w+)/.exec(transport.stderr)?.[1] };
  }

  const envFor = (home: ReturnType<typeof tempHome>, extra: Record<string, string> = {}) =>
    baseEnv({ ...home.env, LOOPIQ_API_URL: sandbox.url, LOOPIQ_TOKEN: SANDBOX_TOKENS.alex, LOOPIQ_ORG: 'acme', LOOPIQ_LOG_LEVEL: 'debug', ...extra });
  const cacheFiles = (home: ReturnType<typeof tempHome>) => readdirSync(join(home.dir, 'state', 'code-cache'));

  it('the first start stores the compiled code after its first answer; the next start runs from it and answers the same', async () => {
    const home = tempHome();
    const first = await session(CLI, envFor(home), { waitFor: /saved \(answered\)/ });
    expect(first.status).toBe('absent');
    const [name] = cacheFiles(home);
    expect(name).toMatch(/^serve-.+\.bin$/);
    const cachePath = join(home.dir, 'state', 'code-cache', name!);
    expect(statSync(cachePath).mode & 0o777).toBe(0o600);
    // Compiled code only: the token the server used is nowhere in it (invariant 2), in any spelling.
    const bytes = readFileSync(cachePath);
    for (const spelling of [SANDBOX_TOKENS.alex, Buffer.from(SANDBOX_TOKENS.alex).toString('base64').replace(/=+$/, '')]) {
      expect(bytes.includes(Buffer.from(spelling, 'latin1')), spelling).toBe(false);
      expect(bytes.includes(Buffer.from(spelling, 'utf16le')), spelling).toBe(false);
    }
    const second = await session(CLI, envFor(home));
    expect(second.status).toBe('used');
    expect(second.stderr).not.toMatch(/saved/);
    expect(second.result.structuredContent).toEqual(first.result.structuredContent);
    expect(second.result.content).toEqual(first.result.content);
  });

  it('a cache file V8 cannot use (its payload overwritten) is refused and replaced; answers are unchanged', async () => {
    const home = tempHome();
    const first = await session(CLI, envFor(home), { waitFor: /saved \(answered\)/ });
    const path = join(home.dir, 'state', 'code-cache', cacheFiles(home)[0]!);
    const bytes = readFileSync(path);
    for (let i = 16; i < bytes.length; i++) bytes[i] = (i * 131) & 0xff;
    writeFileSync(path, bytes);
    const second = await session(CLI, envFor(home), { waitFor: /saved \(answered\)/ });
    expect(second.status).toBe('rejected');
    expect(second.result.structuredContent).toEqual(first.result.structuredContent);
    const third = await session(CLI, envFor(home));
    expect(third.status).toBe('used');
  });

  it('a rebuilt bundle (another modification time, same length) never runs from the old cache', async () => {
    // A private copy of dist/, so that its serve.cjs can be touched.
    const dist = join(mkdtempSync(join(tmpdir(), 'loopiq-dist-')), 'dist');
    cpSync(dirname(CLI), dist, { recursive: true, filter: (f) => !f.endsWith('.map') });
    const cli = join(dist, 'cli.js');
    const home = tempHome();
    await session(cli, envFor(home), { waitFor: /saved \(answered\)/ });
    expect((await session(cli, envFor(home))).status).toBe('used');
    const later = new Date(Date.now() + 60_000);
    utimesSync(join(dist, 'serve.cjs'), later, later);
    const rebuilt = await session(cli, envFor(home), { waitFor: /saved \(answered\)/ });
    expect(rebuilt.status).toBe('absent');
    expect(cacheFiles(home)).toHaveLength(2);
  });

  it('NODE_DISABLE_COMPILE_CACHE=1: no cache read or written', async () => {
    const home = tempHome();
    const r = await session(CLI, envFor(home, { NODE_DISABLE_COMPILE_CACHE: '1' }));
    expect(r.status).toBe('off');
    expect(() => cacheFiles(home)).toThrow(/ENOENT/);
  });
});

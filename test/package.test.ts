import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, delimiter, dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RecordingStdioTransport } from '../src/util/stdio-probe.js';
import { tempHome } from './support/cli.js';

/**
 * The package as users get it: `npm pack`, installed into an empty prefix with no repository
 * around it, and that install's own `loopiq-mcp` run, registered and started by a real client.
 */
const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  bin: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
// The Node running this suite (the CI matrix runs it under each supported Node) runs npm and the CLI.
const NODE_BIN = dirname(process.execPath);
const NPM_CLI = ['npm', 'npx'].map((n) => join(NODE_BIN, n)).every((p) => existsSync(p)) ? NODE_BIN : '';

describe('the packed package, installed into an empty prefix', () => {
  let work: string;
  let tarball: string;
  let packed: string[];
  let prefix: string;
  let installedBin: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    work = realpathSync(mkdtempSync(join(tmpdir(), 'loopiq-pkg-test-')));
    const empty = join(work, 'cwd');
    mkdirSync(empty);
    // PATH: this Node first, so the bin's `#!/usr/bin/env node` and npm run under it.
    // The user's environment (proxy, CA certificates), without the outer npm run's or tests' own.
    const outer = Object.entries(process.env).filter(([k, v]) => v !== undefined && !/^(npm_|LOOPIQ_)/i.test(k) || k === 'npm_config_nodedir');
    env = {
      ...(Object.fromEntries(outer) as Record<string, string>),
      PATH: [NODE_BIN, ...(process.env.PATH ?? '').split(delimiter)].join(delimiter),
      npm_config_update_notifier: 'false',
      npm_config_fund: 'false',
      npm_config_audit: 'false',
    };
    const npm = NPM_CLI ? join(NPM_CLI, 'npm') : 'npm';
    // --ignore-scripts: `prepare` would rebuild; the suite already runs on a fresh build.
    const { stdout } = await run(npm, ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: ROOT, env });
    const info = (JSON.parse(stdout) as { filename: string; files: { path: string }[] }[])[0]!;
    tarball = join(work, info.filename);
    packed = info.files.map((f) => f.path);
    prefix = join(work, 'prefix with space');
    await run(npm, ['install', '--global', '--prefix', prefix, tarball], { cwd: empty, env });
    installedBin = join(prefix, 'bin', 'loopiq-mcp');
  }, 240_000);
  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('ships only the runtime: bin, dist/*.js and dist/serve.cjs, package.json, README; no sources, tests or source maps', () => {
    expect(packed).toContain('package.json');
    expect(packed).toContain('README.md');
    expect(packed).toContain(PKG.bin['loopiq-mcp']);
    expect(packed).toContain('dist/cli.js');
    expect(packed).toContain('dist/serve.cjs');
    for (const path of packed) expect(path, path).toMatch(/^(bin\/[^/]+\.js|dist\/[^/]+\.c?js|package\.json|README\.md|LICENSE)$/);
    // Every chunk the CLI imports is in the package.
    const dist = readdirSync(join(ROOT, 'dist')).filter((f) => /\.c?js$/.test(f));
    for (const f of dist) expect(packed, f).toContain(`dist/${f}`);
  });

  it('bin has a node shebang and is executable once installed', () => {
    const bin = join(ROOT, PKG.bin['loopiq-mcp']!);
    expect(readFileSync(bin, 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node');
    expect(statSync(installedBin).mode & 0o111).not.toBe(0);
    expect(realpathSync(installedBin).startsWith(prefix + sep)).toBe(true);
  });

  it('imports nothing at runtime that is not a dependency (devDependencies are not installed for users)', () => {
    // esbuild emits external ESM imports as import…from"x" / import"x" / import("x"), external
    // CommonJS as __require("x"); a bare `from "x"` in a message ("too far from 'nbf'") is not one.
    // serve.cjs is CommonJS: there every require("x") counts, except the code-generation text of
    // ajv and ajv-formats (require("ajv/dist/runtime/…"), require("ajv-formats/dist/formats")
    // inside the strings validators are compiled from, never run here).
    const imported = new Set<string>();
    for (const f of readdirSync(join(ROOT, 'dist')).filter((n) => /\.c?js$/.test(n))) {
      const code = readFileSync(join(ROOT, 'dist', f), 'utf8');
      const requireCall = f.endsWith('.cjs') ? '\\brequire' : '\\b__require';
      const pattern = new RegExp(`(?:\\b(?:import|export)\\s*(?:[\\w$]+\\s*,?\\s*)?(?:\\*\\s*(?:as\\s*[\\w$]+)?|\\{[^}]*\\})?\\s*from\\s*|\\bimport\\s*\\(\\s*|\\bimport\\s*|${requireCall}\\s*\\(\\s*)["'](@?[a-z0-9][a-z0-9._-]*(?:\\/[a-z0-9._@-]+)*)["']`, 'g');
      for (const m of code.matchAll(pattern)) {
        const spec = m[1]!;
        if (f.endsWith('.cjs') && (spec.startsWith('ajv/dist/runtime/') || spec === 'ajv-formats/dist/formats')) continue;
        if (spec.startsWith('node:')) continue;
        const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
        imported.add(name);
      }
    }
    const nodeBuiltins = new Set(['fs', 'path', 'os', 'url', 'util', 'crypto', 'events', 'stream', 'http', 'https', 'net', 'tls', 'zlib', 'buffer', 'child_process', 'assert', 'querystring', 'string_decoder', 'async_hooks', 'worker_threads', 'perf_hooks', 'diagnostics_channel', 'dns', 'readline', 'process', 'tty', 'module', 'http2', 'stream/web', 'util/types', 'timers', 'console', 'v8', 'vm', 'constants', 'punycode', 'sqlite']);
    for (const name of imported) {
      if (nodeBuiltins.has(name)) continue;
      expect(Object.keys(PKG.dependencies), `dist imports "${name}"`).toContain(name);
    }
    expect(imported.has('@napi-rs/keyring')).toBe(true);
    // Proof by the install itself: every dependency resolved inside the prefix, none from the repo.
    const installed = join(prefix, 'lib', 'node_modules', PKG.name);
    for (const dep of Object.keys(PKG.dependencies)) {
      expect(existsSync(join(installed, 'node_modules', dep)) || existsSync(join(prefix, 'lib', 'node_modules', dep)), dep).toBe(true);
    }
    for (const dev of Object.keys(PKG.devDependencies)) expect(existsSync(join(installed, 'node_modules', dev)), dev).toBe(false);
  });

  it('the installed loopiq-mcp prints its version', async () => {
    const { stdout } = await run(installedBin, ['--version'], { cwd: work, env });
    expect(stdout.trim()).toBe(PKG.version);
  });

  async function serveSandbox(command: string, args: string[]) {
    const transport = new RecordingStdioTransport(command, args, { ...env, ...tempHome().env });
    const client = new Client({ name: 'loopiq-package-test', version: '1.0.0' }, { capabilities: {} });
    await client.connect(transport);
    const tools = (await client.listTools()).tools.map((t) => t.name);
    const r = await client.callTool({ name: 'loopiq_get_release', arguments: { id: 'rel_acme_2' } });
    await client.close();
    return { tools, r, transport };
  }

  it('serve --sandbox, started from the install by a real MCP client, answers tool calls', async () => {
    const { tools, r, transport } = await serveSandbox(installedBin, ['serve', '--sandbox']);
    expect(tools).toContain('loopiq_get_release');
    expect(r.isError, JSON.stringify(r.content)).toBeFalsy();
    expect((r.content as { text: string }[])[0]!.text).toMatch(/^\[SANDBOX\] Release/);
    expect(transport.nonJsonRpcStdout()).toEqual([]);
  });

  it('install --client registers the installed node and script, and that entry starts', async () => {
    const home = tempHome();
    const config = join(work, 'claude_desktop_config.json');
    await run(installedBin, ['install', '--client', 'claude-desktop', '--config-path', config], { cwd: work, env: { ...env, ...home.env } });
    const entry = (JSON.parse(readFileSync(config, 'utf8')) as { mcpServers: Record<string, { command: string; args: string[] }> }).mcpServers.loopiq!;
    expect(entry.command).toBe(realpathSync(process.execPath));
    expect(entry.args[0]!.startsWith(join(prefix, 'lib', 'node_modules', PKG.name) + sep)).toBe(true);
    expect(existsSync(entry.args[0]!)).toBe(true);
    expect(entry.args[1]).toBe('serve');
    // Start exactly what the client would (plus --sandbox: there is no account here).
    const { tools, r } = await serveSandbox(entry.command, [...entry.args, '--sandbox']);
    expect(tools).toContain('loopiq_whoami');
    expect(r.isError, JSON.stringify(r.content)).toBeFalsy();
  });

  it('npx --yes <tarball> serve --sandbox works outside any repository', async () => {
    const npx = NPM_CLI ? join(NPM_CLI, 'npx') : 'npx';
    // From the tarball's folder (no package.json there). npx takes a relative `./x.tgz` (or
    // `file:/abs/x.tgz`) as a package; a bare absolute path is run as a command instead.
    const transport = new StdioClientTransport({
      command: npx,
      args: ['--yes', `./${basename(tarball)}`, 'serve', '--sandbox'],
      env: { ...env, ...tempHome().env, HOME: env.HOME! }, // HOME: npx's usual cache; config and state private
      cwd: work,
      stderr: 'pipe',
    });
    const client = new Client({ name: 'loopiq-package-test', version: '1.0.0' }, { capabilities: {} });
    await client.connect(transport);
    const r = await client.callTool({ name: 'loopiq_list_releases', arguments: {} });
    await client.close();
    expect(r.isError, JSON.stringify(r.content)).toBeFalsy();
    expect((r.content as { text: string }[])[0]!.text).toMatch(/^\[SANDBOX\]/);
  }, 120_000);
});

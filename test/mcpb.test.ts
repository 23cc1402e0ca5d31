import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type RunningSandbox } from '../src/sandbox/fake-loopiq.js';
import { SANDBOX_TOKENS } from '../src/sandbox/seed.js';
import { RecordingStdioTransport } from '../src/util/stdio-probe.js';
import { tempHome } from './support/cli.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MCPB_CLI = join(ROOT, 'node_modules', '@anthropic-ai', 'mcpb', 'dist', 'cli', 'cli.js');

interface Manifest {
  version: string;
  server: { entry_point: string; mcp_config: { command: string; args: string[]; env: Record<string, string> } };
  user_config: Record<string, { type: string; sensitive?: boolean; default?: unknown }>;
}

/** Desktop's substitution: ${__dirname} is the unpacked bundle, ${user_config.x} the user's value. */
function substitute(value: string, dir: string, userConfig: Record<string, string>): string {
  return value.replace(/\$\{__dirname\}/g, dir).replace(/\$\{user_config\.([A-Za-z0-9_]+)\}/g, (whole, key: string) => userConfig[key] ?? whole);
}

describe('the MCP Bundle, unpacked and started the way Claude Desktop starts it', () => {
  let work: string;
  let dir: string;
  let manifest: Manifest;
  let sandbox: RunningSandbox;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'loopiq-mcpb-test-'));
    const bundle = join(work, 'loopiq-mcp.mcpb');
    execFileSync(process.execPath, [join(ROOT, 'scripts', 'pack-mcpb.mjs'), bundle], { stdio: 'pipe' });
    dir = join(work, 'unpacked');
    execFileSync(process.execPath, [MCPB_CLI, 'unpack', bundle, dir], { stdio: 'pipe' });
    manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
    sandbox = await startSandbox();
  }, 180_000);
  afterAll(async () => {
    await sandbox.close();
    rmSync(work, { recursive: true, force: true });
  });

  /** Starts the bundle's server with the manifest's command, args and env, plus what Desktop adds. */
  function startBundle(userConfig: Record<string, string>) {
    return startBundleWith(userConfig, {});
  }

  async function startBundleWith(userConfig: Record<string, string>, desktopEnv: Record<string, string>) {
    const { command, args, env } = manifest.server.mcp_config;
    expect(command).toBe('node'); // Desktop runs it with its own Node; here, the Node running the tests
    const home = tempHome();
    const childEnv: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      ...home.env,
      LOOPIQ_KEYCHAIN_SERVICE: `loopiq-mcp-test-${randomUUID()}`,
      ...(process.env.DBUS_SESSION_BUS_ADDRESS ? { DBUS_SESSION_BUS_ADDRESS: process.env.DBUS_SESSION_BUS_ADDRESS } : {}),
      ...desktopEnv,
      ...Object.fromEntries(Object.entries(env).map(([k, v]) => [k, substitute(v, dir, userConfig)])),
    };
    const transport = new RecordingStdioTransport(process.execPath, args.map((a) => substitute(a, dir, userConfig)), childEnv);
    const client = new Client({ name: 'claude-ai', version: '0.14.0' }, { capabilities: {} });
    await client.connect(transport);
    return { client, transport };
  }

  it('is self-contained: manifest, entry point, built CLI and the keychain binaries of each Desktop platform', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(manifest.version).toBe(pkg.version);
    expect(existsSync(join(dir, manifest.server.entry_point))).toBe(true);
    expect(manifest.server.mcp_config.args[0]).toBe(`\${__dirname}/${manifest.server.entry_point}`);
    expect(existsSync(join(dir, 'dist', 'cli.js'))).toBe(true);
    for (const platform of ['darwin-arm64', 'darwin-x64', 'win32-x64-msvc', 'linux-x64-gnu']) {
      expect(existsSync(join(dir, 'node_modules', '@napi-rs', `keyring-${platform}`, `keyring.${platform}.node`)), platform).toBe(true);
    }
    // The token is a sensitive setting (Desktop keeps it in the OS keychain), passed as LOOPIQ_TOKEN.
    expect(manifest.user_config.token).toMatchObject({ type: 'string', sensitive: true });
    expect(manifest.server.mcp_config.env.LOOPIQ_TOKEN).toBe('${user_config.token}');
    for (const key of ['organization', 'read_only', 'api_url']) expect(manifest.user_config[key], key).toBeDefined();
    // The repository's dev-only files never ship.
    expect(existsSync(join(dir, 'src'))).toBe(false);
    expect(existsSync(join(dir, 'node_modules', 'vitest'))).toBe(false);
  });

  it('serves with the token, organization and read-only settings from user_config', async () => {
    const { client, transport } = await startBundle({ token: SANDBOX_TOKENS.alex, organization: 'acme', read_only: 'true', api_url: sandbox.url });
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toContain('loopiq_list_releases');
    expect(names).not.toContain('loopiq_create_work_item'); // read_only hides the write tools
    const before = sandbox.fake.requests.length;
    const r = await client.callTool({ name: 'loopiq_list_releases', arguments: {} });
    await client.close();
    expect(r.isError, JSON.stringify(r.content)).toBeFalsy();
    const requests = sandbox.fake.requests.slice(before);
    expect(requests.length).toBeGreaterThan(0);
    for (const req of requests) {
      expect(req.headers.authorization).toBe(`Bearer ${SANDBOX_TOKENS.alex}`);
      // The server runs under the Node running the tests (the CI matrix relies on it).
      expect(req.headers['user-agent']).toContain(`node/${process.version};`);
    }
    expect(requests.some((req) => req.headers['loopiq-organization'] === 'org_acme')).toBe(true);
    expect(transport.nonJsonRpcStdout()).toEqual([]);
    expect(transport.stdoutLines.join('\n') + transport.stderr).not.toContain(SANDBOX_TOKENS.alex);
  });

  it('optional settings left empty (passed as the literal placeholder) mean unset, never a value', async () => {
    // Desktop may pass "${user_config.token}" etc. verbatim when the user left a setting empty.
    const { client, transport } = await startBundle({ api_url: sandbox.url });
    const before = sandbox.fake.requests.length;
    // Called before tools/list: the SDK client validates even an error's structuredContent against
    // the output schema of a tool it has listed.
    const r = await client.callTool({ name: 'loopiq_list_releases', arguments: {} });
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toContain('loopiq_create_work_item'); // read_only unset is off, not an invalid boolean
    await client.close();
    expect(r.isError).toBe(true); // no token, no organization: nothing to send
    const seen = JSON.stringify(r.content) + transport.stderr + JSON.stringify(sandbox.fake.requests.slice(before));
    expect(seen).not.toContain('user_config');
  });

  it('with the keychain empty, the message says where to paste a token', async () => {
    const { client } = await startBundle({ api_url: sandbox.url, organization: 'acme' });
    const r = await client.callTool({ name: 'loopiq_list_releases', arguments: {} });
    await client.close();
    expect(r.isError).toBe(true);
    expect((r.content as { text: string }[])[0]!.text).toMatch(/"LoopIQ token" setting/);
  });

  it('with no token and no usable keychain, the message says where to paste a token', async () => {
    // Stands in for Desktop refusing the native module: the keychain cannot be reached at all.
    const broken = await startBundleWith({ api_url: sandbox.url, organization: 'acme' }, { DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/bus' });
    const r = await broken.client.callTool({ name: 'loopiq_list_releases', arguments: {} });
    await broken.client.close();
    expect(r.isError).toBe(true);
    const text = (r.content as { text: string }[])[0]!.text;
    expect(text).toMatch(/OS keychain/);
    expect(text).toMatch(/"LoopIQ token" setting/);
    expect(text).not.toMatch(/set LOOPIQ_TOKEN/);
  });
});

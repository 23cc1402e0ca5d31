import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { parse } from 'jsonc-parser';
import { describe, expect, it } from 'vitest';
import { CLI, baseEnv, runCli, tempHome } from './support/cli.js';

const OTHER = { command: 'npx', args: ['-y', '@acme/other-mcp'], env: { OTHER: '1' } };

const FILES: Record<string, { key: string; text: string; jsonc?: boolean }> = {
  'claude-desktop': { key: 'mcpServers', text: JSON.stringify({ globalShortcut: 'Ctrl+Space', mcpServers: { other: OTHER } }, null, 2) + '\n' },
  cursor: { key: 'mcpServers', text: JSON.stringify({ mcpServers: { other: OTHER, another: { url: 'https://x.example/mcp' } } }, null, 4) + '\n' },
  'claude-code': { key: 'mcpServers', text: JSON.stringify({ numStartups: 12, projects: { '/p': { mcpServers: {} } }, mcpServers: { other: OTHER } }, null, 2) + '\n' },
  windsurf: { key: 'mcpServers', text: JSON.stringify({ mcpServers: { other: { ...OTHER, disabled: false } } }, null, 2) + '\n' },
  vscode: {
    key: 'servers',
    jsonc: true,
    text: `// My MCP servers
{
  "inputs": [],
  "servers": {
    // keep this one
    "other": { "type": "stdio", "command": "npx", "args": ["-y", "@acme/other-mcp"] },
  },
}
`,
  },
};

interface ServerEntry {
  command: string;
  args: string[];
  type?: string;
  env: Record<string, string>;
}
/** A client's config file as these tests read it: server entries under the client's key (e.g. `mcpServers`). */
type ClientConfig = Record<string, Record<string, ServerEntry> | undefined>;

const parseConfig = (text: string) => parse(text, [], { allowTrailingComma: true }) as ClientConfig;

describe.each(Object.entries(FILES))('install --client %s', (client, file) => {
  it('adds an absolute-path entry, keeps everything else, backs up, is idempotent, uninstalls cleanly, and launches', async () => {
    const home = tempHome();
    const path = join(home.dir, 'client', 'config.json');
    mkdirSync(join(home.dir, 'client'));
    writeFileSync(path, file.text);
    const env = baseEnv({ ...home.env, DBUS_SESSION_BUS_ADDRESS: 'unix:path=/run/user/1000/bus' });

    const dry = await runCli(['install', '--client', client, '--config-path', path, '--dry-run'], env);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/Would change/);
    expect(readFileSync(path, 'utf8')).toBe(file.text);

    const r = await runCli(['install', '--client', client, '--config-path', path, '--org', 'acme', '--read-only'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^\+ .*"loopiq"/m);
    expect(r.stdout).toMatch(/restart|reload|refresh|start it again|new Claude Code session/i);
    const after = readFileSync(path, 'utf8');
    const data = parseConfig(after);
    const entry = data[file.key]!.loopiq!;
    expect(entry.command).toBe(process.execPath);
    expect(entry.args).toEqual([CLI, 'serve', '--org', 'acme', '--read-only']);
    if (client === 'vscode' || client === 'cursor' || client === 'claude-code') expect(entry.type).toBe('stdio');
    // The shell's own settings travel with the entry: clients start servers with a stripped environment.
    expect(entry.env).toEqual({ DBUS_SESSION_BUS_ADDRESS: 'unix:path=/run/user/1000/bus', LOOPIQ_CONFIG_DIR: home.env.LOOPIQ_CONFIG_DIR, LOOPIQ_STATE_DIR: home.env.LOOPIQ_STATE_DIR, LOOPIQ_KEYCHAIN_SERVICE: 'loopiq-mcp-test' });
    expect(JSON.stringify(entry)).not.toMatch(/token/i);
    // Everything else is semantically identical.
    const { loopiq: _added, ...rest } = data[file.key]!;
    expect({ ...data, [file.key]: rest }).toEqual(parseConfig(file.text));
    if (file.jsonc) {
      expect(after).toContain('// My MCP servers');
      expect(after).toContain('// keep this one');
    }
    expect(readFileSync(`${path}.loopiq-backup`, 'utf8')).toBe(file.text);

    const again = await runCli(['install', '--client', client, '--config-path', path, '--org', 'acme', '--read-only'], env);
    expect(again.stdout).toMatch(/already registered.*nothing changed/);
    expect(readFileSync(path, 'utf8')).toBe(after);

    // The registered entry really launches: spawn exactly command + args, list tools.
    const transport = new StdioClientTransport({ command: entry.command, args: entry.args, env: { ...entry.env, ...home.env, PATH: process.env.PATH! }, stderr: 'pipe' });
    const mcp = new Client({ name: 'launch-check', version: '0' });
    await mcp.connect(transport);
    expect((await mcp.listTools()).tools).toHaveLength(14);
    await mcp.close();

    const un = await runCli(['uninstall', '--client', client, '--config-path', path], env);
    expect(un.code).toBe(0);
    expect(parseConfig(readFileSync(path, 'utf8'))).toEqual(parseConfig(file.text));
    expect((await runCli(['uninstall', '--client', client, '--config-path', path], env)).stdout).toMatch(/not registered in .*; nothing changed/);
  });

  it('refuses a malformed file, names the line, and writes nothing', async () => {
    const home = tempHome();
    const path = join(home.dir, 'broken.json');
    const broken = '{\n  "mcpServers": {\n    "other": { "command": "x" ,, }\n}\n';
    writeFileSync(path, broken);
    const r = await runCli(['install', '--client', client, '--config-path', path], baseEnv(home.env));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/syntax error at line 3, column \d+/);
    expect(r.stderr).toMatch(/nothing was written/);
    expect(readFileSync(path, 'utf8')).toBe(broken);
    expect(existsSync(`${path}.loopiq-backup`)).toBe(false);
  });
});

describe('install: creating a config and choosing the client', () => {
  it('creates a missing config file at the client default path under HOME', async () => {
    const home = tempHome();
    const r = await runCli(['install', '--client', 'cursor'], baseEnv(home.env));
    expect(r.code, r.stderr).toBe(0);
    const data = JSON.parse(readFileSync(join(home.dir, '.cursor', 'mcp.json'), 'utf8')) as ClientConfig;
    expect(data.mcpServers!.loopiq!.args.slice(1)).toEqual(['serve']);
  });

  it('an unknown client is a usage error', async () => {
    const r = await runCli(['install', '--client', 'notepad'], baseEnv(tempHome().env));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Allowed choices are claude-desktop, cursor, vscode, claude-code, windsurf/);
  });
});

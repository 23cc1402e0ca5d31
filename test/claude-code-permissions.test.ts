import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'jsonc-parser';
import { describe, expect, it } from 'vitest';
import { baseEnv, CLI, runCli, tempHome } from './support/cli.js';

describe('install --client claude-code denies the agent its own approval', () => {
  it('adds deny rules for approve/reject to Claude Code settings (CLAUDE_CONFIG_DIR honoured), says so, keeps other settings, and uninstall removes exactly them', async () => {
    const home = tempHome();
    const claudeDir = join(home.dir, 'claude-config');
    mkdirSync(claudeDir);
    const settings = join(claudeDir, 'settings.json');
    writeFileSync(settings, JSON.stringify({ model: 'opus', permissions: { deny: ['Bash(rm -rf *)'], allow: ['Bash(npm test)'] } }, null, 2));
    const mcpConfig = join(home.dir, 'claude.json');
    const env = baseEnv({ ...home.env, CLAUDE_CONFIG_DIR: claudeDir });

    const r = await runCli(['install', '--client', 'claude-code', '--config-path', mcpConfig], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/permissions\.deny\), so Claude Code's own shell cannot approve/);
    const data = parse(readFileSync(settings, 'utf8')) as { model: string; permissions: { deny: string[]; allow: string[] } };
    expect(data.model).toBe('opus');
    expect(data.permissions.allow).toEqual(['Bash(npm test)']);
    expect(data.permissions.deny).toEqual(expect.arrayContaining(['Bash(rm -rf *)', 'Bash(*loopiq-mcp approve*)', 'Bash(*loopiq-mcp reject*)', `Bash(*${CLI} approve*)`]));

    // The rules match the ways an agent would spell the command.
    const matches = (cmd: string) => data.permissions.deny.some((rule) => new RegExp(`^${rule.slice(5, -1).replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`).test(cmd));
    expect(matches('loopiq-mcp approve ABC234')).toBe(true);
    expect(matches('npx loopiq-mcp approve ABC234')).toBe(true);
    expect(matches(`script -qec "${process.execPath} ${CLI} approve ABC234" /dev/null`)).toBe(true);
    expect(matches('loopiq-mcp status')).toBe(false);

    const again = await runCli(['install', '--client', 'claude-code', '--config-path', mcpConfig], env);
    expect(again.stdout).not.toMatch(/permissions\.deny/);

    const u = await runCli(['uninstall', '--client', 'claude-code', '--config-path', mcpConfig], env);
    expect(u.code, u.stderr).toBe(0);
    expect((parse(readFileSync(settings, 'utf8')) as { permissions: { deny: string[] } }).permissions.deny).toEqual(['Bash(rm -rf *)']);
  });
});

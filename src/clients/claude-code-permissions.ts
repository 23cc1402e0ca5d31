import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../config/files.js';
import { editJson, parseClientConfig } from './config-edit.js';

/** Claude Code's user settings (honours CLAUDE_CONFIG_DIR, as Claude Code does). */
export const claudeCodeSettingsPath = (env: NodeJS.ProcessEnv) => join(env.CLAUDE_CONFIG_DIR || join(env.HOME || homedir(), '.claude'), 'settings.json');

/**
 * Rules that deny Claude Code's own Bash tool the commands that decide on a write, however they
 * are spelled (through npx, the absolute script path, or wrapped in `script`/`sh -c`): the agent
 * must not approve what it asked for. Claude Code evaluates deny first, in every permission mode.
 */
export function selfApprovalDenyRules(scriptPath: string): string[] {
  const rules: string[] = [];
  for (const verb of ['approve', 'reject', 'audit --reset']) {
    rules.push(`Bash(*loopiq-mcp ${verb}*)`, `Bash(*${scriptPath} ${verb}*)`);
  }
  return rules;
}

/** Adds the deny rules to Claude Code's settings (keeping everything else); returns what was added. */
export async function denySelfApproval(env: NodeJS.ProcessEnv, scriptPath: string, dryRun: boolean): Promise<{ path: string; added: string[] }> {
  const path = claudeCodeSettingsPath(env);
  let text: string | undefined;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const data = text === undefined ? {} : parseClientConfig(path, text, true);
  const permissions = (data.permissions ?? {}) as { deny?: unknown };
  const deny = Array.isArray(permissions.deny) ? (permissions.deny as unknown[]) : [];
  const added = selfApprovalDenyRules(scriptPath).filter((r) => !deny.includes(r));
  if (added.length && !dryRun) await writeFileAtomic(path, editJson(text ?? '', ['permissions', 'deny'], [...deny, ...added]));
  return { path, added };
}

/** `uninstall`: removes exactly the rules `install` added. */
export async function removeSelfApprovalDenial(env: NodeJS.ProcessEnv, scriptPath: string, dryRun: boolean): Promise<{ path: string; removed: string[] }> {
  const path = claudeCodeSettingsPath(env);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return { path, removed: [] };
  }
  const data = parseClientConfig(path, text, true);
  const deny = ((data.permissions as { deny?: unknown } | undefined)?.deny ?? []) as unknown[];
  const ours = new Set(selfApprovalDenyRules(scriptPath));
  const removed = deny.filter((r): r is string => typeof r === 'string' && ours.has(r));
  if (removed.length && !dryRun) await writeFileAtomic(path, editJson(text, ['permissions', 'deny'], deny.filter((r) => !(typeof r === 'string' && ours.has(r)))));
  return { path, removed };
}

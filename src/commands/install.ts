import { realpathSync } from 'node:fs';
import { copyFile, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { LoopIqError } from '../api/errors.js';
import { CLIENT_IDS, CLIENTS, ENTRY_NAME, type ClientId, type ClientSpec, type ServerEntry } from '../clients/clients.js';
import { denySelfApproval, removeSelfApprovalDenial } from '../clients/claude-code-permissions.js';
import { editJson, lineDiff, parseClientConfig } from '../clients/config-edit.js';
import { writeFileAtomic } from '../config/files.js';
import { resolveSettings, type Settings } from '../config/settings.js';
import { windowsLaunchForm, windowsShortName } from '../clients/windows.js';
import { inert } from '../util/inert.js';
import { secureUrl } from '../util/loopback.js';
import { processIo, type Io } from './context.js';

export interface InstallOptions {
  client: string;
  configPath?: string;
  org?: string;
  readOnly?: boolean;
  apiUrl?: string;
  /** Relay LoopIQ's hosted MCP endpoint (DESIGN.md §3b). */
  mcpUrl?: string;
  dryRun?: boolean;
}

export function clientSpec(id: string): ClientSpec {
  if (!(CLIENT_IDS as readonly string[]).includes(id)) {
    throw new LoopIqError('config_invalid', `Unknown client "${id}".`, `Use one of: ${CLIENT_IDS.join(', ')}.`);
  }
  return CLIENTS[id as ClientId];
}

/** The absolute path of this CLI's script, through any npm symlink (never an npx or nvm shim). */
export function cliScriptPath(): string {
  const script = process.argv[1];
  if (!script) throw new LoopIqError('config_invalid', 'Cannot tell where loopiq-mcp is installed.', 'Run it as `node /path/to/loopiq-mcp/bin/loopiq-mcp.js install …`.');
  return realpathSync(script);
}

/**
 * Environment the registered server needs to see what this shell sees. Clients start servers with
 * a stripped environment, so anything set here and not written into the entry is lost. Never a token.
 */
export const CARRIED_ENV = ['LOOPIQ_CONFIG_DIR', 'LOOPIQ_STATE_DIR', 'LOOPIQ_KEYCHAIN_SERVICE', 'LOOPIQ_CONFIRM', 'LOOPIQ_CONFIRM_TIMEOUT', 'NODE_EXTRA_CA_CERTS'] as const;

export interface Platform {
  platform: NodeJS.Platform;
  execPath: string;
  script: string;
  shortName: (path: string) => string | undefined;
}

const thisPlatform = (): Platform => ({ platform: process.platform, execPath: realpathSync(process.execPath), script: cliScriptPath(), shortName: windowsShortName });

/**
 * What the client will launch: absolute node + absolute script + `serve`, with the settings in
 * effect here (flag > env; the config file is read by the server itself); never a token.
 */
export function serverEntry(spec: ClientSpec, settings: Settings, env: NodeJS.ProcessEnv, p: Platform = thisPlatform(), mcpUrl?: string): { entry: ServerEntry; warning?: string } {
  const args = [p.script, 'serve'];
  if (settings.apiUrlSource === 'flag' || settings.apiUrlSource === 'env') args.push('--api-url', settings.apiUrl);
  if (mcpUrl) args.push('--mcp-url', secureUrl(mcpUrl, '--mcp-url').href);
  if (settings.pinnedOrg) args.push('--org', settings.pinnedOrg.value);
  if (settings.readOnly) args.push('--read-only');
  const launch = p.platform === 'win32' ? windowsLaunchForm(p.execPath, args, p.shortName) : { command: p.execPath, args };
  const entry: ServerEntry = { ...spec.stdioFields, command: launch.command, args: launch.args };
  const carried: Record<string, string> = {};
  // The keychain needs the session bus on Linux (doctor checks that this address still works).
  if (p.platform === 'linux' && env.DBUS_SESSION_BUS_ADDRESS) carried.DBUS_SESSION_BUS_ADDRESS = env.DBUS_SESSION_BUS_ADDRESS;
  for (const name of CARRIED_ENV) if (env[name]) carried[name] = env[name];
  if (Object.keys(carried).length) entry.env = carried;
  return { entry, ...('warning' in launch && launch.warning ? { warning: launch.warning } : {}) };
}

/** One line per setting the entry carries, and where it came from. */
function describeEntry(settings: Settings): string {
  const from = (s: string) => (s === 'flag' ? 'from the flag' : s === 'env' ? 'from your environment' : s === 'config' ? 'from the config file' : 'default');
  return [
    `  API:          ${inert(settings.apiUrl)} (${from(settings.apiUrlSource)})`,
    `  organization: ${settings.pinnedOrg ? `${inert(settings.pinnedOrg.value)} (${from(settings.pinnedOrg.source)})` : 'the one chosen with `loopiq-mcp use-org`'}`,
    `  read-only:    ${settings.readOnly ? `yes (${from(settings.readOnlySource)})` : 'no'}`,
  ].join('\n');
}

async function readConfig(path: string, spec: ClientSpec) {
  let text: string | undefined;
  if ((await stat(path).catch(() => undefined))?.isDirectory()) {
    throw new LoopIqError('config_invalid', `${path} is a directory, not a config file.`, `Give the file itself, e.g. --config-path ${join(path, basename(spec.configPath({}, process.platform)))}, or leave --config-path out to use ${spec.name}'s own file.`);
  }
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const data = text === undefined ? {} : parseClientConfig(path, text, spec.jsonc);
  return { text, data };
}

function targetPath(spec: ClientSpec, opts: InstallOptions, env: NodeJS.ProcessEnv): string {
  const path = opts.configPath ?? spec.configPath(env, process.platform);
  try {
    return realpathSync(path); // edit the file a dotfiles symlink points to, not the link
  } catch {
    return path;
  }
}

/** Atomic write with a backup of the previous content beside it, keeping the file's mode. */
async function save(path: string, before: string | undefined, after: string) {
  let mode = 0o600;
  if (before !== undefined) {
    mode = (await stat(path)).mode & 0o777;
    await copyFile(path, `${path}.loopiq-backup`);
  }
  await writeFileAtomic(path, after, mode);
}

export async function install(opts: InstallOptions, io: Io = processIo()): Promise<number> {
  const spec = clientSpec(opts.client);
  const settings = await resolveSettings(opts, io.env, { tolerateConfigError: true });
  const path = targetPath(spec, opts, io.env);
  const { text, data } = await readConfig(path, spec);
  const { entry, warning } = serverEntry(spec, settings, io.env, undefined, opts.mcpUrl ?? io.env.LOOPIQ_MCP_URL);
  if (warning) io.stderr.write(`warning: ${warning}\n`);
  const servers = (data[spec.key] ?? {}) as Record<string, unknown>;
  if (typeof servers !== 'object' || Array.isArray(servers)) {
    throw new LoopIqError('config_invalid', `${path}: "${spec.key}" is not an object.`, 'Fix the file by hand (nothing was written).');
  }
  const before = text ?? '';
  const after = editJson(before, [spec.key, ENTRY_NAME], entry);
  if (text !== undefined && JSON.stringify(servers[ENTRY_NAME]) === JSON.stringify(entry)) {
    io.stdout.write(`${spec.name}: loopiq is already registered in ${path}; nothing changed.\n`);
    await guardSelfApproval(spec, opts, io);
    return 0;
  }
  io.stdout.write(`${opts.dryRun ? 'Would change' : 'Changed'} ${path}:\n${lineDiff(before, after)}\n`);
  io.stdout.write(`The registered server will use:\n${describeEntry(settings)}\n`);
  if (process.argv[1]?.includes('_npx')) {
    io.stderr.write('warning: you are running loopiq-mcp through npx; its cache may be cleaned. Install it with `npm i -g loopiq-mcp` and run install again.\n');
  }
  await guardSelfApproval(spec, opts, io);
  if (opts.dryRun) return 0;
  await save(path, text, after);
  io.stdout.write(`${text !== undefined ? `Backup: ${path}.loopiq-backup\n` : ''}${spec.restart}\n`);
  io.stdout.write('Then `loopiq-mcp doctor` starts the entry as the client will and says whether it has a token and an organization.\n');
  return 0;
}

/** Claude Code's agent has a shell: deny it the commands that decide on a write (docs/threat-model.md). */
async function guardSelfApproval(spec: ClientSpec, opts: Pick<InstallOptions, 'dryRun'>, io: Io) {
  if (spec.id !== 'claude-code') return;
  const { path, added } = await denySelfApproval(io.env, cliScriptPath(), opts.dryRun === true);
  if (added.length) {
    io.stdout.write(
      `${opts.dryRun ? 'Would add' : 'Added'} to ${path} (permissions.deny), so Claude Code's own shell cannot approve the writes it asks for:\n${added.map((r) => `  ${r}`).join('\n')}\n`,
    );
  }
}

export async function uninstall(opts: Pick<InstallOptions, 'client' | 'configPath' | 'dryRun'>, io: Io = processIo()): Promise<number> {
  const spec = clientSpec(opts.client);
  const path = targetPath(spec, opts, io.env);
  const { text, data } = await readConfig(path, spec);
  const servers = data[spec.key] as Record<string, unknown> | undefined;
  if (text === undefined || !servers || !(ENTRY_NAME in servers)) {
    io.stdout.write(`${spec.name}: loopiq is not registered in ${path}; nothing changed.\n`);
    return 0;
  }
  const after = editJson(text, [spec.key, ENTRY_NAME], undefined);
  io.stdout.write(`${opts.dryRun ? 'Would change' : 'Changed'} ${path}:\n${lineDiff(text, after)}\n`);
  if (spec.id === 'claude-code') {
    const { path: settings, removed } = await removeSelfApprovalDenial(io.env, cliScriptPath(), opts.dryRun === true);
    if (removed.length) io.stdout.write(`${opts.dryRun ? 'Would remove' : 'Removed'} loopiq-mcp's ${removed.length} deny rules from ${settings}.\n`);
  }
  if (opts.dryRun) return 0;
  await save(path, text, after);
  io.stdout.write(`Backup: ${path}.loopiq-backup\n${spec.restart}\n`);
  return 0;
}

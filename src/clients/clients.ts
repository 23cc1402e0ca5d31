import { homedir } from 'node:os';
import { join } from 'node:path';

export const CLIENT_IDS = ['claude-desktop', 'cursor', 'vscode', 'claude-code', 'windsurf'] as const;
export type ClientId = (typeof CLIENT_IDS)[number];

export const ENTRY_NAME = 'loopiq';

export interface ClientSpec {
  id: ClientId;
  name: string;
  /** Top-level key that holds the servers. */
  key: 'mcpServers' | 'servers';
  /** Extra fields the client wants on a stdio entry. */
  stdioFields: Record<string, string>;
  /** The file may contain comments (JSONC). */
  jsonc: boolean;
  restart: string;
  configPath(env: NodeJS.ProcessEnv, platform: NodeJS.Platform): string;
}

const home = (env: NodeJS.ProcessEnv) => env.HOME || env.USERPROFILE || homedir();
const appData = (env: NodeJS.ProcessEnv) => env.APPDATA || join(home(env), 'AppData', 'Roaming');
const userConfig = (env: NodeJS.ProcessEnv, platform: NodeJS.Platform) =>
  platform === 'darwin' ? join(home(env), 'Library', 'Application Support') : platform === 'win32' ? appData(env) : env.XDG_CONFIG_HOME || join(home(env), '.config');

/** Where each client keeps its MCP servers, per OS (research/mcp-clients.md §4). */
export const CLIENTS: Record<ClientId, ClientSpec> = {
  'claude-desktop': {
    id: 'claude-desktop',
    name: 'Claude Desktop',
    key: 'mcpServers',
    stdioFields: {},
    jsonc: false,
    restart: 'Quit Claude Desktop completely and start it again.',
    configPath: (env, platform) => join(userConfig(env, platform), 'Claude', 'claude_desktop_config.json'),
  },
  cursor: {
    id: 'cursor',
    name: 'Cursor',
    key: 'mcpServers',
    stdioFields: { type: 'stdio' },
    jsonc: false,
    restart: 'Restart Cursor, or refresh the server in Settings → MCP.',
    configPath: (env) => join(home(env), '.cursor', 'mcp.json'),
  },
  vscode: {
    id: 'vscode',
    name: 'VS Code',
    key: 'servers',
    stdioFields: { type: 'stdio' },
    jsonc: true,
    restart: 'Run "MCP: List Servers" in VS Code and start loopiq (or reload the window).',
    // A portable VS Code keeps its profile beside it (VSCODE_PORTABLE).
    configPath: (env, platform) => (env.VSCODE_PORTABLE ? join(env.VSCODE_PORTABLE, 'user-data', 'User', 'mcp.json') : join(userConfig(env, platform), 'Code', 'User', 'mcp.json')),
  },
  'claude-code': {
    id: 'claude-code',
    name: 'Claude Code',
    key: 'mcpServers',
    stdioFields: { type: 'stdio' },
    jsonc: false,
    restart: 'Start a new Claude Code session (check with `/mcp`).',
    // CLAUDE_CONFIG_DIR moves the whole config, user-scope MCP servers included (anthropics/claude-code#48448).
    configPath: (env) => join(env.CLAUDE_CONFIG_DIR || home(env), '.claude.json'),
  },
  windsurf: {
    id: 'windsurf',
    name: 'Windsurf',
    key: 'mcpServers',
    stdioFields: {},
    jsonc: false,
    restart: 'Press refresh in the Windsurf MCP panel, or restart Windsurf.',
    configPath: (env) => join(home(env), '.codeium', 'windsurf', 'mcp_config.json'),
  },
};

export interface ServerEntry {
  command: string;
  args: string[];
  env?: Record<string, string>;
  [k: string]: unknown;
}

import { spawnSync } from 'node:child_process';

/**
 * What `install` writes on Windows when node (or the script) lives under a path with spaces.
 *
 * Answers the Windows item of issue 14 and the reports it cites: Claude Desktop on Windows starts
 * a stdio server as `cmd.exe /C <command> <args…>` and does not quote `command`, so the default
 * Node install, `C:\Program Files\nodejs\node.exe`, fails with "'C:\Program' is not recognized as
 * an internal or external command" (modelcontextprotocol/servers#4487 and #447,
 * aaronsb/obsidian-mcp-plugin#31). Quoting inside the JSON does not help: with more than two
 * quotes on the line, `cmd /C` strips the first and the last (see `cmd /?`, quoted in #447).
 *
 * The form that starts correctly has no space and no quote at all: the 8.3 short name that
 * Windows keeps for such folders (`C:\PROGRA~1\nodejs\node.exe`). It is the same file, so every
 * other client (which spawns without cmd.exe) starts it too. When a volume has short names turned
 * off there is none; then `install` warns and says what to do instead.
 */
export interface LaunchForm {
  command: string;
  args: string[];
  /** Set when a path with spaces remains (no short name): the client may fail to start it. */
  warning?: string;
}

export function windowsLaunchForm(command: string, args: string[], shortName: (path: string) => string | undefined): LaunchForm {
  const unsafe: string[] = [];
  const fix = (p: string, isPath: boolean) => {
    if (!isPath || !/\s/.test(p)) return p;
    const short = shortName(p);
    if (short && !/\s/.test(short)) return short;
    unsafe.push(p);
    return p;
  };
  const out: LaunchForm = { command: fix(command, true), args: args.map((a) => fix(a, looksLikePath(a))) };
  if (unsafe.length) {
    out.warning =
      `${unsafe.map((p) => `"${p}"`).join(' and ')} contain${unsafe.length === 1 ? 's' : ''} a space and Windows has no short (8.3) name for it, ` +
      'so Claude Desktop may fail to start the server ("\'C:\\Program\' is not recognized"). ' +
      'Install Node.js (or loopiq-mcp) in a folder without spaces, e.g. C:\\nodejs, and run `loopiq-mcp install` again.';
  }
  return out;
}

function looksLikePath(arg: string): boolean {
  return /^[A-Za-z]:[\\/]/.test(arg) || arg.startsWith('\\\\');
}

/** The 8.3 short name of an existing path, from cmd.exe's `%~s` (Windows only). */
export function windowsShortName(path: string): string | undefined {
  if (process.platform !== 'win32' || /["%]/.test(path)) return undefined;
  const r = spawnSync('cmd.exe', ['/d', '/c', `for %I in ("${path}") do @echo %~sI`], {
    encoding: 'utf8',
    windowsVerbatimArguments: true,
    stdio: ['ignore', 'pipe', 'ignore'],
    timeout: 5_000,
  });
  const out = r.status === 0 ? r.stdout.trim() : '';
  return out || undefined;
}

/** The hand-parsed start of what clients launch (see cli.ts). */
import type { ServeOptions } from './commands/serve.js';

/** `serve`'s options as commander names them; anything not listed here goes to commander. */
const SERVE_VALUES: Record<string, keyof ServeOptions> = {
  '--api-url': 'apiUrl',
  '--org': 'org',
  '--mcp-url': 'mcpUrl',
  '--tools': 'tools',
  '--exclude-tools': 'excludeTools',
  '--confirm': 'confirm',
};
const SERVE_FLAGS: Record<string, keyof ServeOptions> = { '--read-only': 'readOnly', '--sandbox': 'sandbox', '--mcp': 'mcp' };

/**
 * The options of a plain `serve` launch, exactly as commander would parse them, or undefined
 * whenever commander must decide (help, version, a usage error, another command, anything odd).
 */
export function parseServeFastPath(args: readonly string[]): ServeOptions | undefined {
  const rest = args[0] === 'serve' ? args.slice(1) : args;
  const opts: Record<string, string | boolean> = {};
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i] ?? '';
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    const valueKey = SERVE_VALUES[name];
    const flagKey = SERVE_FLAGS[name];
    if (valueKey !== undefined) {
      const value = eq > 0 && name !== arg ? arg.slice(eq + 1) : rest[++i];
      if (value === undefined || value.startsWith('-')) return undefined;
      opts[valueKey] = value;
    } else if (flagKey !== undefined && name === arg) {
      opts[flagKey] = true;
    } else {
      return undefined;
    }
  }
  return opts;
}

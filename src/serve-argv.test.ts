import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildProgram } from './program.js';
import { parseServeFastPath } from './serve-argv.js';

/** What commander makes of `args`: serve's options, 'other' (another command, help, version) or 'error'. */
async function commanderParse(args: string[]): Promise<Record<string, unknown> | 'other' | 'error'> {
  const program = buildProgram();
  let seen: Record<string, unknown> | 'other' = 'other';
  for (const cmd of program.commands) {
    cmd.exitOverride().configureOutput({ writeOut: () => {}, writeErr: () => {} });
    cmd.action(cmd.name() === 'serve' ? (opts: Record<string, unknown>) => void (seen = { ...opts }) : () => {});
  }
  program.configureOutput({ writeOut: () => {}, writeErr: () => {} });
  try {
    await program.parseAsync(['node', 'loopiq-mcp', ...args]);
  } catch {
    return 'error';
  }
  return seen;
}

describe('the hand-parsed serve launch', () => {
  it('parses what clients launch exactly as commander does', async () => {
    for (const args of [[], ['serve'], ['serve', '--org', 'acme', '--read-only'], ['--sandbox'], ['--api-url=http://127.0.0.1:1', '--tools', 'get_release,list_releases'], ['serve', '--org=', '--confirm', 'terminal', '--org', 'b']]) {
      const fast = parseServeFastPath(args);
      expect(fast, args.join(' ')).toBeDefined();
      expect(fast).toEqual(await commanderParse(args));
    }
  });

  it('leaves help, version, other commands and every odd argument to commander', () => {
    for (const args of [['--help'], ['serve', '-h'], ['-V'], ['--version'], ['login'], ['stauts'], ['serve', 'extra'], ['serve', '--org'], ['--org', '--read-only'], ['--read-only=1'], ['--sandbox', '--'], ['help', 'serve'], ['serve', 'serve'], ['--unknown'], ['']]) {
      expect(parseServeFastPath(args), args.join(' ')).toBeUndefined();
    }
  });

  it('never disagrees with commander, whatever the arguments', async () => {
    const token = fc.oneof(
      fc.constantFrom('serve', 'login', '--org', '--org=acme', '--api-url', '--read-only', '--read-only=yes', '--sandbox', '--mcp', '--mcp-url', '--tools', '--exclude-tools', '--confirm', '--help', '-h', '-V', '--', '-x', 'acme', '', '='),
      fc.string({ maxLength: 6 }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(token, { maxLength: 6 }), async (args) => {
        const fast = parseServeFastPath(args);
        if (fast !== undefined) expect(fast).toEqual(await commanderParse(args));
      }),
      { numRuns: 400 },
    );
  });
});

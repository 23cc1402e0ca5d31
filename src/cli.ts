/**
 * Entry point. Each verb's module is imported only when that verb runs, so `serve` (what
 * clients launch, often several times) loads nothing it does not need.
 */
import { Command, CommanderError, Option } from 'commander';
import { VERSION } from './version.js';

const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

const apiUrl = () => new Option('--api-url <url>', 'LoopIQ API base URL (env LOOPIQ_API_URL; default https://ai.loopiq.com)');
const org = () => new Option('--org <id|slug>', 'organization to pin (env LOOPIQ_ORG; default: the one chosen with use-org)');
const readOnly = () => new Option('--read-only', 'hide write tools and refuse every write (env LOOPIQ_READ_ONLY=1)');
const json = () => new Option('--json', 'machine-readable output');

/** Runs a command; known failures print their message and hint, and exit 1. */
async function run(action: () => Promise<number | void>) {
  try {
    const code = await action();
    process.exitCode = code ?? EXIT.ok;
  } catch (err) {
    const { LoopIqError } = await import('./api/errors.js');
    if (err instanceof LoopIqError) process.stderr.write(`error: ${err.describe()}\n`);
    else process.stderr.write(`error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = EXIT.failure;
  }
}

export function buildProgram(): Command {
  const program = new Command('loopiq-mcp')
    .version(VERSION)
    .description('LoopIQ for desktop AI clients: a stdio MCP server with a keychain token, a pinned organization and human-approved writes.')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  program
    .command('serve', { isDefault: true })
    .description('run the stdio MCP server (what AI clients launch)')
    .addOption(apiUrl())
    .addOption(org())
    .addOption(readOnly())
    .option('--sandbox', 'serve against a built-in fake LoopIQ with demo data (no account needed)')
    .option('--tools <names>', 'only these tools (comma-separated)')
    .option('--exclude-tools <names>', 'never these tools (comma-separated; wins over --tools)')
    .addHelpText(
      'after',
      `
Examples:
  $ loopiq-mcp serve --sandbox              try it with demo data
  $ loopiq-mcp serve --org acme --read-only
  $ LOOPIQ_TOKEN=... LOOPIQ_ORG=acme loopiq-mcp serve   headless / CI`,
    )
    .action((opts) =>
      run(async () => {
        const { serve } = await import('./commands/serve.js');
        await serve(opts);
      }),
    );

  return program;
}

export async function main(argv: string[]) {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help / --version exit 0; anything else is a usage error.
      process.exitCode = err.exitCode === 0 ? EXIT.ok : EXIT.usage;
      return;
    }
    throw err;
  }
}

void main(process.argv);
void json;

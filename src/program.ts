/**
 * Every command but the plain `serve` launch (cli.ts parses that one by hand, so what clients
 * launch never loads commander): options, help texts, usage errors.
 */
import { Command, CommanderError, Option } from 'commander';
import type { approve } from './commands/approve.js';
import type { audit } from './commands/audit.js';
import type { doctor } from './commands/doctor.js';
import type { install, uninstall } from './commands/install.js';
import type { loginOAuth } from './commands/login-oauth.js';
import type { login } from './commands/login.js';
import type { logout } from './commands/logout.js';
import type { rotate } from './commands/rotate.js';
import type { ServeOptions } from './commands/serve.js';
import type { status } from './commands/status.js';
import type { loginMcp } from './commands/upstream-identity.js';
import type { runOAuthSandbox } from './sandbox/oauth-server.js';
import { EXIT, fail, run, runServe } from './run.js';
import { VERSION } from './version.js';

// Commander hands each action untyped options; these are the shapes the declared options make.
type FirstArg<F extends (...args: never[]) => unknown> = Parameters<F>[0];
type SecondArg<F extends (...args: never[]) => unknown> = Parameters<F>[1];
type LoginOpts = FirstArg<typeof login> & FirstArg<typeof loginOAuth> & FirstArg<typeof loginMcp>;
type StatusOpts = FirstArg<typeof status> & { mcpUrl?: string };
type SandboxOpts = FirstArg<typeof runOAuthSandbox> & { oauth?: boolean };

export const COMMANDS = ['serve', 'login', 'logout', 'status', 'orgs', 'use-org', 'rotate', 'install', 'uninstall', 'doctor', 'approve', 'reject', 'audit', 'sandbox', 'help'] as const;

const apiUrl = () => new Option('--api-url <url>', 'LoopIQ API base URL (env LOOPIQ_API_URL; default https://ai.loopiq.com)');
const org = () => new Option('--org <id|slug>', 'organization to pin (env LOOPIQ_ORG; default: the one chosen with use-org)');
const readOnly = () => new Option('--read-only', 'hide write tools and refuse every write (env LOOPIQ_READ_ONLY=1)');
const json = () => new Option('--json', 'machine-readable output');

export function buildProgram(): Command {
  const program = new Command('loopiq-mcp')
    .version(VERSION)
    .description('LoopIQ for desktop AI clients: a stdio MCP server with a keychain token, a pinned organization and human-approved writes.')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .addHelpText(
      'after',
      `
Examples:
  $ loopiq-mcp sandbox                               a fake LoopIQ with demo data, to try every command
  $ loopiq-mcp login                                 store your API token in the OS keychain
  $ loopiq-mcp use-org acme                          choose the organization every call is pinned to
  $ loopiq-mcp install --client claude-desktop       register the server in your AI client
  $ loopiq-mcp doctor                                check everything a launch needs
  $ loopiq-mcp <command> --help                      options and examples of one command`,
    );

  program
    .command('serve', { isDefault: true })
    .description('run the stdio MCP server (what AI clients launch)')
    .addOption(apiUrl())
    .addOption(org())
    .addOption(readOnly())
    .option('--sandbox', 'serve against a built-in fake LoopIQ with demo data (no account needed)')
    .option('--mcp-url <url>', "relay LoopIQ's hosted MCP endpoint, e.g. https://ai.loopiq.com/mcp (env LOOPIQ_MCP_URL)")
    .option('--mcp', "with --sandbox: relay the sandbox's hosted-style /mcp endpoint")
    .option('--tools <names>', 'only these tools (comma-separated)')
    .option('--exclude-tools <names>', 'never these tools (comma-separated; wins over --tools)')
    .option('--confirm <channels>', 'how to ask a human before a write, in order (env LOOPIQ_CONFIRM; default elicitation,dialog,terminal)')
    .addHelpText(
      'after',
      `
Examples:
  $ loopiq-mcp serve --sandbox              try it with demo data
  $ loopiq-mcp serve --org acme --read-only
  $ loopiq-mcp serve --mcp-url https://ai.loopiq.com/mcp --org org_123   hosted endpoint, gated
  $ LOOPIQ_TOKEN=... LOOPIQ_ORG=acme loopiq-mcp serve   headless / CI`,
    )
    .action((opts: ServeOptions) => runServe(opts));

  program
    .command('login')
    .description('validate a LoopIQ API token and store it in the OS keychain')
    .addOption(apiUrl())
    .option('--with-token', 'read the token from stdin (for scripts) instead of a hidden prompt')
    .addOption(new Option('--web', 'log in with OAuth in a browser (authorization code + PKCE)').conflicts(['withToken', 'device']))
    .addOption(new Option('--device', 'log in with OAuth on another device (device code; for SSH and headless machines)').conflicts(['withToken']))
    .option('--no-browser', 'with --web: print the login URL instead of opening a browser')
    .option('--client-id <id>', 'OAuth client id registered for loopiq-mcp (env LOOPIQ_OAUTH_CLIENT_ID; default: register one)')
    .option('--mcp-url <url>', "log in to LoopIQ's hosted MCP endpoint instead (validated by initialize + tools/list; serve then relays it)")
    .option('--org <id|slug>', 'with --mcp-url: the organization to select')
    .addOption(json())
    .addHelpText(
      'after',
      `
Examples:
  $ loopiq-mcp login                                  prompts (input hidden)
  $ loopiq-mcp login --with-token < token.txt
  $ loopiq-mcp login --web                            OAuth in your browser
  $ loopiq-mcp login --device                         OAuth with a code, from another device
  $ loopiq-mcp login --api-url https://staging.loopiq.example
  $ loopiq-mcp login --mcp-url https://ai.loopiq.com/mcp --with-token < token.txt`,
    )
    .action((opts: LoginOpts) =>
      run(async () =>
        opts.mcpUrl
          ? (await import('./commands/upstream-identity.js')).loginMcp(opts)
          : opts.web || opts.device
            ? (await import('./commands/login-oauth.js')).loginOAuth(opts)
            : (await import('./commands/login.js')).login(opts),
      ),
    );

  program
    .command('logout')
    .description('revoke the token on the server (best effort) and delete it from the keychain')
    .addOption(apiUrl())
    .addHelpText('after', '\nExamples:\n  $ loopiq-mcp logout\n  $ loopiq-mcp logout --api-url https://staging.loopiq.example')
    .action((opts: FirstArg<typeof logout>) => run(async () => (await import('./commands/logout.js')).logout(opts)));

  program
    .command('status')
    .description('who you are, which organization, token source and expiry; exit 1 if anything is broken')
    .addOption(apiUrl())
    .addOption(org())
    .addOption(readOnly())
    .addOption(json())
    .addHelpText('after', '\nExamples:\n  $ loopiq-mcp status\n  $ loopiq-mcp status --json | jq .organization')
    .option('--mcp-url <url>', "LoopIQ's hosted MCP endpoint (env LOOPIQ_MCP_URL; default: the one stored by login --mcp-url)")
    .action((opts: StatusOpts) => run(async () => {
      const m = await import('./commands/upstream-identity.js');
      const up = await m.upstreamUrl(opts, process.env);
      return up ? m.statusMcp(up, opts) : (await import('./commands/status.js')).status(opts);
    }));

  program
    .command('orgs')
    .description('list your organizations; * marks the selected one')
    .addOption(apiUrl())
    .addOption(org())
    .addOption(json())
    .addHelpText('after', '\nExamples:\n  $ loopiq-mcp orgs\n  $ loopiq-mcp orgs --json | jq -r ".[].slug"')
    .option('--mcp-url <url>', "LoopIQ's hosted MCP endpoint (env LOOPIQ_MCP_URL; default: the one stored by login --mcp-url)")
    .action((opts: StatusOpts) => run(async () => {
      const m = await import('./commands/upstream-identity.js');
      const up = await m.upstreamUrl(opts, process.env);
      return up ? m.orgsMcp(up, opts) : (await import('./commands/orgs.js')).orgs(opts);
    }));

  program
    .command('use-org')
    .argument('<id|slug>', 'organization id or slug (see `loopiq-mcp orgs`)')
    .description('select the organization that servers pin every call to')
    .addOption(apiUrl())
    .addOption(json())
    .addHelpText('after', '\nExamples:\n  $ loopiq-mcp use-org acme\n  $ loopiq-mcp use-org org_acme')
    .option('--mcp-url <url>', "LoopIQ's hosted MCP endpoint (env LOOPIQ_MCP_URL; default: the one stored by login --mcp-url)")
    .action((idOrSlug: string, opts: StatusOpts) => run(async () => {
      const m = await import('./commands/upstream-identity.js');
      const up = await m.upstreamUrl(opts, process.env);
      return up ? m.useOrgMcp(up, idOrSlug, opts) : (await import('./commands/orgs.js')).useOrg(idOrSlug, opts);
    }));

  program
    .command('rotate')
    .description('mint a new token, verify it, swap it into the keychain, revoke the old one')
    .addOption(apiUrl())
    .addOption(json())
    .addHelpText('after', '\nRunning servers keep working: they re-read the keychain after one 401.\n\nExamples:\n  $ loopiq-mcp rotate\n  $ loopiq-mcp rotate --json')
    .action((opts: FirstArg<typeof rotate>) => run(async () => (await import('./commands/rotate.js')).rotate(opts)));

  const clientOption = () =>
    new Option('--client <name>', 'the AI client').choices(['claude-desktop', 'cursor', 'vscode', 'claude-code', 'windsurf']).makeOptionMandatory();
  program
    .command('install')
    .description("register loopiq-mcp in an AI client's config (absolute node + script; never a token)")
    .addOption(clientOption())
    .addOption(org())
    .addOption(readOnly())
    .addOption(apiUrl())
    .option('--config-path <file>', "edit this file instead of the client's usual config")
    .option('--mcp-url <url>', "the client's server relays LoopIQ's hosted MCP endpoint (default: the one stored by login --mcp-url)")
    .option('--dry-run', 'print the change without writing')
    .addHelpText(
      'after',
      `
Examples:
  $ loopiq-mcp install --client claude-desktop
  $ loopiq-mcp install --client cursor --org acme --read-only
  $ loopiq-mcp install --client vscode --dry-run`,
    )
    .action((opts: FirstArg<typeof install>) => run(async () => (await import('./commands/install.js')).install(opts)));

  program
    .command('uninstall')
    .description("remove loopiq-mcp from an AI client's config (other servers untouched)")
    .addOption(clientOption())
    .option('--config-path <file>', "edit this file instead of the client's usual config")
    .option('--mcp-url <url>', "the client's server relays LoopIQ's hosted MCP endpoint (default: the one stored by login --mcp-url)")
    .option('--dry-run', 'print the change without writing')
    .addHelpText('after', '\nExamples:\n  $ loopiq-mcp uninstall --client cursor\n  $ loopiq-mcp uninstall --client vscode --dry-run')
    .action((opts: FirstArg<typeof uninstall>) => run(async () => (await import('./commands/install.js')).uninstall(opts)));

  program
    .command('doctor')
    .description('check everything a launch needs (node, client configs, keychain, network, token, org) and say what to fix')
    .addOption(apiUrl())
    .addOption(org())
    .addOption(json())
    .option('--no-self-test', 'skip starting a server to check stdout')
    .option('--mcp-url <url>', "check LoopIQ's hosted MCP endpoint (default: the one stored by login --mcp-url)")
    .addHelpText('after', '\nExamples:\n  $ loopiq-mcp doctor\n  $ loopiq-mcp doctor --json | jq \'.checks[] | select(.status != "ok")\'')
    .action((opts: FirstArg<typeof doctor>) => run(async () => (await import('./commands/doctor.js')).doctor(opts)));

  program
    .command('approve')
    .argument('[code]', 'the code from the assistant (omit to list pending writes)')
    .description('review and approve (or reject) a pending write; needs an interactive terminal')
    .addOption(json())
    .addHelpText('after', '\nExamples:\n  $ loopiq-mcp approve            list pending writes\n  $ loopiq-mcp approve K7MQ2P     show the exact request and answer y/N')
    .action((code: string | undefined, opts: SecondArg<typeof approve>) => run(async () => (await import('./commands/approve.js')).approve(code, opts)));

  program
    .command('reject')
    .argument('<code>', 'the code of a pending write')
    .description('reject a pending write; nothing will be sent')
    .addHelpText('after', '\nExamples:\n  $ loopiq-mcp reject K7MQ2P')
    .action((code: string) => run(async () => (await import('./commands/approve.js')).reject(code)));

  program
    .command('audit')
    .description('show the local log of write attempts')
    .option('--verify', 'check the hash chain and its anchored end; exit 1 if a line was edited or removed')
    .option('--reset', 'keep a broken log aside and start a new one (asks first; a human in a terminal only)')
    .addOption(json())
    .addHelpText('after', '\nExamples:\n  $ loopiq-mcp audit\n  $ loopiq-mcp audit --verify')
    .action((opts: FirstArg<typeof audit>) => run(async () => (await import('./commands/audit.js')).audit(opts)));

  program
    .command('sandbox')
    .description('serve a fake LoopIQ API with demo data on localhost, to try every command without an account')
    .option('--port <n>', 'port on 127.0.0.1 (1-65535)', '8787')
    .option('--oauth', 'also run an OAuth authorization server, to try `login --web` / `login --device`')
    .option('--oauth-port <n>', 'with --oauth: its port on 127.0.0.1', '8788')
    .addHelpText('after', '\nExamples:\n  $ loopiq-mcp sandbox\n  $ LOOPIQ_API_URL=http://127.0.0.1:8787 loopiq-mcp login --with-token <<< lqp_sandbox_alex_2f9c1e\n  $ loopiq-mcp sandbox --oauth   then: LOOPIQ_API_URL=http://127.0.0.1:8787 loopiq-mcp login --web')
    .action((opts: SandboxOpts) => run(async () => (opts.oauth ? (await import('./sandbox/oauth-server.js')).runOAuthSandbox(opts) : (await import('./commands/sandbox.js')).sandbox(opts))));

  return program;
}

/** `loopiq-mcp stauts` would otherwise run the default command (serve) with a stray argument. */
function unknownCommand(argv: string[]): string | undefined {
  const first = argv[2];
  if (first === undefined || first.startsWith('-') || (COMMANDS as readonly string[]).includes(first)) return undefined;
  return first;
}

/** Parses `argv` with commander and runs the command it names. */
export async function runProgram(argv: string[]) {
  const stray = unknownCommand(argv);
  if (stray !== undefined) {
    const { nearest, UsageError } = await import('./commands/failure.js');
    const guess = nearest(stray, COMMANDS);
    await fail(new UsageError(`unknown command '${stray}'.${guess ? ` Did you mean '${guess}'?` : ''}`, 'Run `loopiq-mcp --help` for the list of commands.'));
    return;
  }
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help / --version exit 0; anything else is a usage error (commander printed it).
      process.exitCode = err.exitCode === 0 ? EXIT.ok : EXIT.usage;
      return;
    }
    await fail(err);
  }
}


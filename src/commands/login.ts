import { api, type Me } from '../api/contract.js';
import { LoopIqError } from '../api/errors.js';
import type { GlobalFlags } from '../config/settings.js';
import { promptHidden, readAll } from '../util/prompt.js';
import { commandContext, formatExpiry, processIo, refuseWithEnvToken, type CommandContext, type Io } from './context.js';

export interface LoginOptions extends GlobalFlags {
  withToken?: boolean;
  json?: boolean;
}

/** Validate a token with GET /me before storing anything; then keychain; then pick the org if unambiguous. */
export async function login(opts: LoginOptions, io: Io = processIo()): Promise<number> {
  refuseWithEnvToken(io, 'log in');
  const ctx = await commandContext(opts, io);
  const token = (await readToken(opts, io)).trim();
  if (!token) throw new LoopIqError('not_logged_in', 'No token was given.', 'Paste a LoopIQ API token (LoopIQ → Settings → API tokens).');
  if (/\s/.test(token)) throw new LoopIqError('not_logged_in', 'The token contains whitespace.', 'Paste exactly one token.');

  const client = ctx.apiWith(token);
  let me: Me;
  try {
    me = await client.call(api.me());
  } finally {
    await client.close();
  }
  await ctx.keychain.set(token);
  const selected = await rememberLogin(ctx, me, opts.apiUrl !== undefined);

  if (opts.json) {
    ctx.json({ user: me.user, apiUrl: ctx.settings.apiUrl, tokenExpiresAt: me.token.expiresAt, organizations: me.organizations, selectedOrganization: selected.org ?? null });
    return 0;
  }
  ctx.print(`Logged in to ${ctx.settings.apiUrl} as ${me.user.name} <${me.user.email}>.`);
  ctx.print(`Token "${me.token.name}" ${formatExpiry(me.token.expiresAt).text}; stored in the OS keychain.`);
  ctx.print(`Organizations:`);
  for (const o of me.organizations) {
    const mark = o.id === selected.org?.id ? '*' : ' ';
    ctx.print(`  ${mark} ${o.slug.padEnd(16)} ${o.name} (${o.id}, ${o.role}${o.mcpEnabled ? '' : ', MCP disabled'})`);
  }
  ctx.print(selected.message);
  return 0;
}

async function readToken(opts: LoginOptions, io: Io): Promise<string> {
  if (opts.withToken) return readAll(io.stdin);
  if (!io.stdin.isTTY) {
    throw new LoopIqError('not_logged_in', 'No terminal to type the token into.', 'Pipe it instead: `loopiq-mcp login --with-token < token.txt`.');
  }
  return promptHidden(io, 'Paste your LoopIQ API token (input hidden): ');
}

/** Saves --api-url and the org choice; auto-selects only when there is exactly one org. */
export async function rememberLogin(ctx: CommandContext, me: Me, saveApiUrl: boolean) {
  const origin = ctx.settings.apiOrigin;
  let org: { id: string; slug: string; name: string } | undefined;
  let message: string;
  const current = (await ctx.settings.config.read()).organizations[origin];
  const still = current && me.organizations.find((o) => o.id === current.id && o.mcpEnabled);
  const usable = me.organizations.filter((o) => o.mcpEnabled);
  if (still) {
    org = { id: still.id, slug: still.slug, name: still.name };
    message = `Organization ${still.name} (${still.slug}) stays selected.`;
  } else if (me.organizations.length === 1 && usable.length === 1) {
    const o = usable[0]!;
    org = { id: o.id, slug: o.slug, name: o.name };
    message = `Selected ${o.name} (${o.slug}) automatically: it is your only organization.`;
  } else if (usable.length === 0) {
    message = 'None of your organizations has MCP enabled; an organization admin can enable it in LoopIQ settings.';
  } else {
    message = 'You belong to several organizations: choose one with `loopiq-mcp use-org <id|slug>`.';
  }
  await ctx.settings.config.update((d) => {
    if (saveApiUrl) d.apiUrl = ctx.settings.apiUrl;
    if (org) d.organizations[origin] = org;
    else delete d.organizations[origin];
  });
  return { org, message };
}

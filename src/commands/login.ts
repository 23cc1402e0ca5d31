import { api, type Me } from '../api/contract.js';
import { LoopIqError } from '../api/errors.js';
import type { GlobalFlags } from '../config/settings.js';
import { inert } from '../util/inert.js';
import { promptHidden, readAll } from '../util/prompt.js';
import { commandContext, formatExpiry, processIo, refuseWithEnvToken, type CommandContext, type Io } from './context.js';

export interface LoginOptions extends GlobalFlags {
  withToken?: boolean;
  json?: boolean;
}

/** Validate a token with GET /me before storing anything; then keychain; then pick the org if unambiguous. */
export async function login(opts: LoginOptions, io: Io = processIo()): Promise<number> {
  refuseWithEnvToken(io, 'log in');
  // A corrupt config file must not stop the command one uses to recover: the token is still stored.
  const ctx = await commandContext(opts, io, { tolerateConfigError: true });
  const token = (await readToken(opts, io)).trim();
  if (!token) throw new LoopIqError('not_logged_in', 'No token was given.', 'Paste a LoopIQ API token (LoopIQ → Settings → API tokens).');
  if (/\s/.test(token)) throw new LoopIqError('not_logged_in', 'The token contains whitespace.', 'Paste exactly one token.');

  const client = ctx.apiWith(token);
  let me: Me;
  try {
    me = await client.call(api.me());
  } catch (err) {
    throw rejected(err, ctx.settings.apiUrl);
  } finally {
    await client.close();
  }
  await ctx.keychain.set(token);
  const selected = await rememberLogin(ctx, me, opts.apiUrl !== undefined);

  if (opts.json) {
    ctx.json({ user: me.user, apiUrl: ctx.settings.apiUrl, tokenExpiresAt: me.token.expiresAt, organizations: me.organizations, selectedOrganization: selected.org ?? null });
    return 0;
  }
  ctx.print(`Logged in to ${inert(ctx.settings.apiUrl)} as ${inert(me.user.name)} <${inert(me.user.email)}>.`);
  ctx.print(`Token "${inert(me.token.name)}" ${formatExpiry(me.token.expiresAt).text}; stored in the OS keychain.`);
  ctx.print(`Organizations:`);
  for (const o of me.organizations) {
    const mark = o.id === selected.org?.id ? '*' : ' ';
    ctx.print(`  ${mark} ${inert(o.slug).padEnd(16)} ${inert(o.name)} (${inert(o.id)}, ${inert(o.role)}${o.mcpEnabled ? '' : ', MCP disabled'})`);
  }
  ctx.print(selected.message);
  return 0;
}

/** A token LoopIQ refuses at login is the token just typed: say so (never blame LOOPIQ_TOKEN). */
function rejected(err: unknown, apiUrl: string): unknown {
  if (err instanceof LoopIqError && (err.code === 'unauthenticated' || err.code === 'token_expired')) {
    return new LoopIqError(
      err.code,
      `${apiUrl} did not accept this token (${err.code === 'token_expired' ? 'it has expired' : 'unknown or revoked'}); nothing was stored. ${err.message}`,
      `Check that you copied the whole token and that it was made for ${apiUrl} (LoopIQ → Settings → API tokens), then run \`loopiq-mcp login\` again.`,
      err.extra,
    );
  }
  return err;
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
  if (ctx.settings.configError) {
    ctx.warn(`warning: ${ctx.settings.configError.message} The token was stored, but the organization choice was not saved.`);
    ctx.warn(`Fix or delete ${ctx.settings.config.path}, then run \`loopiq-mcp use-org <id|slug>\`.`);
    return { org: undefined, message: 'No organization saved (the config file is not valid).' };
  }
  let org: { id: string; slug: string; name: string } | undefined;
  let message: string;
  const current = (await ctx.settings.config.read()).organizations[origin];
  const still = current && me.organizations.find((o) => o.id === current.id && o.mcpEnabled);
  const usable = me.organizations.filter((o) => o.mcpEnabled);
  if (still) {
    org = { id: still.id, slug: still.slug, name: still.name };
    message = `Organization ${inert(still.name)} (${inert(still.slug)}) stays selected.`;
  } else if (me.organizations.length === 1 && usable.length === 1 && usable[0]) {
    const o = usable[0];
    org = { id: o.id, slug: o.slug, name: o.name };
    message = `Selected ${inert(o.name)} (${inert(o.slug)}) automatically: it is your only organization.`;
  } else if (usable.length === 0) {
    message = 'None of your organizations has MCP enabled; an organization admin can enable it in LoopIQ settings.';
  } else {
    message = 'You belong to several organizations: choose one with `loopiq-mcp use-org <id|slug>`.';
  }
  await ctx.settings.config.update((d) => {
    if (saveApiUrl) d.apiUrl = ctx.settings.apiUrl;
    if (org) d.organizations[origin] = org;
    else {
      const { [origin]: _drop, ...others } = d.organizations;
      d.organizations = others;
    }
  });
  return { org, message };
}

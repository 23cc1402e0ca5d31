/**
 * Identity commands in upstream mode (DESIGN.md §3b): `login --mcp-url` validates the token by
 * initialize + tools/list (and a whoami-like tool when there is one); `orgs`/`use-org` use the
 * endpoint's organizations tool when there is one; `status` reports the mode.
 */
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { LoopIqError, toLoopIqError } from '../api/errors.js';
import { Keychain } from '../auth/keychain.js';
import { expiresAtIso, parseStored, type OAuthCredential } from '../auth/oauth/credential.js';
import { StaticTokenSource, type TokenSource } from '../auth/token-source.js';
import { createTokenSource } from '../auth/tokens.js';
import { HostedMcp } from '../backend/hosted-mcp.js';
import { isReadOnly } from '../backend/upstream-catalog.js';
import { findOrganizationsTool, listOrganizations } from '../backend/upstream-org.js';
import { resolveSettings, type GlobalFlags, type Settings } from '../config/settings.js';
import { orgSelection } from '../server/org-scope.js';
import { secureUrl } from '../util/loopback.js';
import { promptHidden, readAll } from '../util/prompt.js';
import { userAgent } from '../util/user-agent.js';
import { processIo, refuseWithEnvToken, type Io } from './context.js';

export interface McpFlags extends GlobalFlags {
  mcpUrl?: string;
  json?: boolean;
}

/** The hosted endpoint in use, if any: --mcp-url, LOOPIQ_MCP_URL, else the stored one (unless a REST URL is given explicitly). */
export async function upstreamUrl(flags: McpFlags, env: NodeJS.ProcessEnv, settings?: Settings): Promise<URL | undefined> {
  if (flags.mcpUrl) return secureUrl(flags.mcpUrl, '--mcp-url');
  if (env.LOOPIQ_MCP_URL) return secureUrl(env.LOOPIQ_MCP_URL, 'LOOPIQ_MCP_URL');
  if (flags.apiUrl || env.LOOPIQ_API_URL) return undefined;
  const stored = (await (settings ?? (await resolveSettings(flags, env))).config.read()).mcpUrl;
  return stored ? secureUrl(stored, 'mcpUrl in the config file') : undefined;
}

function client(url: URL, tokens: TokenSource, org: string | undefined, env: NodeJS.ProcessEnv) {
  return new HostedMcp({ url: url.href, tokens, org: () => Promise.resolve(org), userAgent: () => userAgent(), env, timeoutMs: 15_000, retry: { attempts: 2, baseDelayMs: 200 } });
}

const whoamiTool = (tools: Tool[]) => tools.find((t) => isReadOnly(t) && /(^|_)(whoami|me|current_user|get_current_user)$/.test(t.name));

export type LoginMcpFlags = McpFlags & { withToken?: boolean; web?: boolean; device?: boolean; browser?: boolean; clientId?: string };

export async function loginMcp(flags: LoginMcpFlags, io: Io = processIo()): Promise<number> {
  // OAuth: discovery starts at the endpoint (login-oauth.ts); what follows is the same as below.
  if (!flags.mcpUrl) throw new LoopIqError('config_invalid', 'No hosted MCP endpoint URL.', 'Use --mcp-url https://ai.loopiq.com/mcp.');
  const url = secureUrl(flags.mcpUrl, '--mcp-url');
  if (flags.web || flags.device) return (await import('./login-oauth.js')).loginOAuthMcp(url, flags, io);
  refuseWithEnvToken(io, 'log in');
  const token = (flags.withToken ? await readAll(io.stdin) : io.stdin.isTTY ? await promptHidden(io, 'Paste your LoopIQ token (input hidden): ') : '').trim();
  if (!token) throw new LoopIqError('not_logged_in', 'No token was given.', 'Pipe it: `loopiq-mcp login --mcp-url URL --with-token < token.txt`, or run in a terminal.');
  if (/\s/.test(token)) throw new LoopIqError('not_logged_in', 'The token contains whitespace.', 'Paste exactly one token.');
  const seen = await inspectEndpoint(url, token, flags.org, io.env);
  return storeMcpLogin(url, flags, io, token, seen, 'Token stored in the OS keychain.');
}

export interface EndpointView {
  tools: Tool[];
  who: unknown;
  orgs: { id: string; slug?: string; name?: string; mcpEnabled?: boolean }[] | undefined;
  server: { name: string; version: string } | undefined;
}

/** What the endpoint shows this access token: initialize + tools/list (+ whoami and organizations when it has them). */
export async function inspectEndpoint(url: URL, accessToken: string, org: string | undefined, env: NodeJS.ProcessEnv): Promise<EndpointView> {
  const mcp = client(url, new StaticTokenSource('env', accessToken), org, env);
  try {
    const tools = await mcp.listTools();
    const server = await mcp.serverInfo();
    const w = whoamiTool(tools);
    const who = w ? (await mcp.callTool(w.name, {}, true)).structuredContent : undefined;
    const o = findOrganizationsTool(tools);
    const orgs = o ? await listOrganizations(mcp, o) : undefined;
    return { tools, who, orgs, server };
  } finally {
    await mcp.close();
  }
}

/**
 * Stores the login (a pasted token, or an OAuth login's JSON) in the keychain entry for the
 * endpoint's origin, remembers the URL and the organization, and reports.
 */
export async function storeMcpLogin(url: URL, flags: McpFlags, io: Io, secret: string, seen: EndpointView, stored: string, extraJson: Record<string, unknown> = {}): Promise<number> {
  const settings = await resolveSettings(flags, io.env);
  const { tools, who, orgs, server } = seen;
  await new Keychain(url.origin, io.env).set(secret);
  let selected: { id: string; slug: string; name: string } | undefined;
  let note: string;
  const want = flags.org ?? (await settings.config.read()).organizations[url.origin]?.id;
  const match = want && orgs?.find((x) => x.id === want || x.slug?.toLowerCase() === want.toLowerCase());
  const usable = orgs?.filter((x) => x.mcpEnabled !== false) ?? [];
  if (match) {
    selected = { id: match.id, slug: match.slug ?? match.id, name: match.name ?? match.id };
    note = `Organization ${selected.name} (${selected.id}) is selected.`;
  } else if (want && !orgs) {
    selected = { id: want, slug: want, name: want };
    note = `Organization ${want} is selected as given: this endpoint has no organizations tool, so it could not be checked.`;
  } else if (orgs?.length === 1 && usable.length === 1 && usable[0]) {
    const o = usable[0];
    selected = { id: o.id, slug: o.slug ?? o.id, name: o.name ?? o.id };
    note = `Selected ${selected.name} (${selected.id}) automatically: it is your only organization.`;
  } else {
    note = 'Choose an organization with `loopiq-mcp use-org <id>`.';
  }
  await settings.config.update((d) => {
    d.mcpUrl = url.href;
    if (selected) d.organizations[url.origin] = selected;
  });
  const user = (who as { user?: { name?: string; email?: string } } | undefined)?.user;
  if (flags.json) {
    io.stdout.write(`${JSON.stringify({ mcpUrl: url.href, server, user: user ?? null, tools: tools.length, readOnlyTools: tools.filter(isReadOnly).length, organizations: orgs ?? null, selectedOrganization: selected ?? null, ...extraJson }, null, 2)}\n`);
    return 0;
  }
  const print = (l = '') => io.stdout.write(`${l}\n`);
  print(`Logged in to the hosted MCP endpoint ${url.href}${server ? ` (${server.name} ${server.version})` : ''}${user ? ` as ${user.name ?? ''} <${user.email ?? ''}>` : ''}.`);
  print(`${tools.length} tools (${tools.filter(isReadOnly).length} read-only; the others run only after a human approves). ${stored}`);
  if (orgs) for (const o of orgs) print(`  ${o.id === selected?.id ? '*' : ' '} ${(o.slug ?? o.id).padEnd(16)} ${o.name ?? ''} (${o.id}${o.mcpEnabled === false ? ', MCP disabled' : ''})`);
  print(note);
  print('`loopiq-mcp serve` now relays this endpoint (pass --api-url to use the REST API instead).');
  return 0;
}

/** The stored OAuth login for the endpoint's origin (read after the calls, so a refresh they made shows). */
async function storedOAuth(url: URL, env: NodeJS.ProcessEnv): Promise<OAuthCredential | undefined> {
  const raw = await new Keychain(url.origin, env).get().catch(() => null);
  const c = raw ? parseStored(raw) : undefined;
  return c?.kind === 'oauth' ? c : undefined;
}

async function withStored<T>(url: URL, flags: McpFlags, io: Io, run: (mcp: HostedMcp, tools: Tool[], settings: Settings) => Promise<T>): Promise<T> {
  const settings = await resolveSettings(flags, io.env);
  const sel = await orgSelection({ ...settings, apiOrigin: url.origin });
  const mcp = client(url, createTokenSource({ env: io.env, apiOrigin: url.origin, stateDir: settings.stateDir }), sel?.value, io.env);
  try {
    return await run(mcp, await mcp.listTools(), settings);
  } finally {
    await mcp.close();
  }
}

export async function orgsMcp(url: URL, flags: McpFlags, io: Io = processIo()): Promise<number> {
  return withStored(url, flags, io, async (mcp, tools, settings) => {
    const tool = findOrganizationsTool(tools);
    const sel = await orgSelection({ ...settings, apiOrigin: url.origin });
    if (!tool) {
      io.stdout.write(`The hosted endpoint ${url.href} has no organizations tool.\nSelected: ${sel?.value ?? '-'} (as given; it cannot be checked here).\n`);
      return 0;
    }
    const orgs = await listOrganizations(mcp, tool);
    if (flags.json) io.stdout.write(`${JSON.stringify(orgs.map((o) => ({ ...o, selected: o.id === sel?.value || o.slug === sel?.value })), null, 2)}\n`);
    else for (const o of orgs) io.stdout.write(`${o.id === sel?.value || o.slug === sel?.value ? '*' : ' '} ${(o.slug ?? o.id).padEnd(16)} ${o.name ?? ''} (${o.id}${o.mcpEnabled === false ? ', MCP disabled' : ''})\n`);
    return 0;
  });
}

export async function useOrgMcp(url: URL, idOrSlug: string, flags: McpFlags, io: Io = processIo()): Promise<number> {
  return withStored(url, flags, io, async (mcp, tools, settings) => {
    const tool = findOrganizationsTool(tools);
    let selected = { id: idOrSlug, slug: idOrSlug, name: idOrSlug };
    let checked = false;
    if (tool) {
      const orgs = await listOrganizations(mcp, tool);
      const o = orgs.find((x) => x.id === idOrSlug) ?? orgs.find((x) => x.slug?.toLowerCase() === idOrSlug.toLowerCase());
      if (!o) throw new LoopIqError('organization_unknown', `You are not a member of an organization "${idOrSlug}" at ${url.href}.`, `Your organizations: ${orgs.map((x) => `${x.slug ?? x.id} (${x.id})`).join(', ') || 'none'}.`);
      if (o.mcpEnabled === false) throw new LoopIqError('mcp_disabled', `MCP access is disabled for ${o.name ?? o.id}.`, 'An organization admin can enable it in LoopIQ settings.');
      selected = { id: o.id, slug: o.slug ?? o.id, name: o.name ?? o.id };
      checked = true;
    }
    await settings.config.update((d) => void (d.organizations[url.origin] = selected));
    if (flags.json) io.stdout.write(`${JSON.stringify({ selected, checked }, null, 2)}\n`);
    else {
      io.stdout.write(
        checked
          ? `Selected ${selected.name} (${selected.id}) for ${url.href}. Running servers switch before their next call.\n`
          : `Selected "${idOrSlug}" for ${url.href} as given: the endpoint has no organizations tool, so it could not be checked.\n`,
      );
    }
    return 0;
  });
}

export async function statusMcp(url: URL, flags: McpFlags, io: Io = processIo()): Promise<number> {
  const settings = await resolveSettings(flags, io.env);
  const sel = await orgSelection({ ...settings, apiOrigin: url.origin });
  const source = io.env.LOOPIQ_TOKEN ? 'env' : 'keychain';
  let listed: { tools: number; readOnlyTools: number } | undefined;
  let problem: string | undefined;
  try {
    listed = await withStored(url, flags, io, (_mcp, tools) => Promise.resolve({ tools: tools.length, readOnlyTools: tools.filter(isReadOnly).length }));
  } catch (err) {
    problem = toLoopIqError(err).describe();
  }
  const valid = listed !== undefined;
  const oauth = io.env.LOOPIQ_TOKEN ? undefined : await storedOAuth(url, io.env);
  const token = { source, valid, ...(oauth ? { kind: 'oauth', expiresAt: expiresAtIso(oauth), oauth: { issuer: oauth.issuer, flow: oauth.flow, refreshable: !!oauth.refreshToken } } : {}) };
  if (!sel) problem = [problem, 'No organization selected: run `loopiq-mcp use-org <id>`.'].filter(Boolean).join('\n');
  const ok = !problem;
  if (flags.json) {
    const report = { ok, mode: 'hosted-mcp', mcpUrl: url.href, readOnly: settings.readOnly, token, organization: sel?.value ?? null, ...listed, ...(problem ? { problem } : {}) };
    io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } else {
    const print = (l: string) => io.stdout.write(`${l}\n`);
    print(`Mode:         hosted MCP endpoint ${url.href}${settings.readOnly ? ' (read-only)' : ''}`);
    const expiry = oauth?.expiresAt === undefined ? 'access token without expiry' : `access token expires ${new Date(oauth.expiresAt).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}`;
    print(
      oauth
        ? `Token:        OAuth (${oauth.flow === 'web' ? 'browser' : 'device'} login at ${oauth.issuer}), from keychain; ${valid ? expiry : 'NOT VALID'}${oauth.refreshToken ? ', refreshed automatically' : ''}`
        : `Token:        from ${source}; ${valid ? 'accepted' : 'NOT VALID'}`,
    );
    print(`Tools:        ${listed ? `${String(listed.tools)} (${String(listed.readOnlyTools)} read-only; the others need a human approval)` : '-'}`);
    print(`Organization: ${sel?.value ?? '-'}`);
    if (problem) print(`              ${problem.replace(/\n/g, '\n              ')}`);
    print(ok ? 'Status:       ready' : 'Status:       NOT READY');
  }
  return ok ? 0 : 1;
}

/** `doctor` in upstream mode: the endpoint answers initialize + tools/list with the stored token; the org is one of the user's. */
export async function hostedDoctorChecks(url: URL, flags: McpFlags, io: Io): Promise<{ name: string; status: 'ok' | 'warn' | 'fail'; detail: string; fix?: string }[]> {
  const started = Date.now();
  try {
    return await withStored(url, flags, io, async (mcp, tools, settings) => {
      const checks: { name: string; status: 'ok' | 'warn' | 'fail'; detail: string; fix?: string }[] = [
        { name: 'hosted-mcp', status: 'ok', detail: `${url.href} accepted the token and listed ${tools.length} tools (${tools.filter(isReadOnly).length} read-only) in ${Date.now() - started} ms` },
      ];
      const sel = await orgSelection({ ...settings, apiOrigin: url.origin });
      const tool = findOrganizationsTool(tools);
      if (!sel) checks.push({ name: 'organization', status: 'fail', detail: 'none selected', fix: 'Run `loopiq-mcp orgs` and `loopiq-mcp use-org <id>`.' });
      else if (!tool) checks.push({ name: 'organization', status: 'warn', detail: `${sel.value} (as given: the endpoint has no organizations tool to check it)` });
      else {
        const orgs = await listOrganizations(mcp, tool);
        const o = orgs.find((x) => x.id === sel.value) ?? orgs.find((x) => x.slug?.toLowerCase() === sel.value.toLowerCase());
        if (!o) checks.push({ name: 'organization', status: 'fail', detail: `"${sel.value}" is not one of your organizations`, fix: 'Run `loopiq-mcp orgs` and `loopiq-mcp use-org <id>`.' });
        else if (o.mcpEnabled === false) checks.push({ name: 'organization', status: 'fail', detail: `${o.name ?? o.id}: MCP is disabled`, fix: 'An organization admin can enable MCP, or pick another with `loopiq-mcp use-org`.' });
        else checks.push({ name: 'organization', status: 'ok', detail: `${o.name ?? o.id} (${o.id})` });
      }
      return checks;
    });
  } catch (err) {
    const e = toLoopIqError(err);
    return [{ name: 'hosted-mcp', status: 'fail', detail: e.message, fix: e.hint }];
  }
}

import { api, type Me } from '../api/contract.js';
import { toLoopIqError } from '../api/errors.js';
import type { GlobalFlags } from '../config/settings.js';
import { orgSelection, selectedOrg } from '../server/org-scope.js';
import { commandContext, formatExpiry, processIo, type Io } from './context.js';
import type { OAuthStatus } from './login-oauth.js';

export interface StatusReport {
  ok: boolean;
  apiUrl: string;
  readOnly: boolean;
  token: { source: 'env' | 'keychain'; valid: boolean; expiresAt?: string | null; problem?: string; warning?: string; kind?: 'oauth'; oauth?: OAuthStatus['oauth'] };
  user?: Me['user'];
  organization: { selected?: { id: string; slug: string; name: string }; source?: string; valid: boolean; problem?: string };
}

/** Who, which org, where the token comes from, expiry; exit 1 when anything would break a launch. */
export async function status(opts: GlobalFlags & { json?: boolean }, io: Io = processIo()): Promise<number> {
  const ctx = await commandContext(opts, io);
  const client = ctx.api();
  const report: StatusReport = {
    ok: false,
    apiUrl: ctx.settings.apiUrl,
    readOnly: ctx.settings.readOnly,
    token: { source: io.env.LOOPIQ_TOKEN ? 'env' : 'keychain', valid: false },
    organization: { valid: false },
  };
  if (report.token.source === 'env') report.token.warning = 'LOOPIQ_TOKEN is set and overrides the keychain.';
  try {
    let me: Me | undefined;
    try {
      me = await client.call(api.me());
      report.user = me.user;
      report.token.valid = true;
      report.token.expiresAt = me.token.expiresAt;
      const { days } = formatExpiry(me.token.expiresAt);
      if (days !== null && days < 7) report.token.warning = [report.token.warning, `The token expires in ${days} day(s): run \`loopiq-mcp rotate\`.`].filter(Boolean).join(' ');
    } catch (err) {
      report.token.problem = toLoopIqError(err).describe();
    }
    const selection = await orgSelection(ctx.settings);
    if (selection) report.organization.source = selection.source;
    if (me) {
      const org = selectedOrg(me.organizations, selection);
      if (org) report.organization.selected = { id: org.id, slug: org.slug, name: org.name };
      if (!org && selection) report.organization.problem = `"${selection.value}" is not one of your organizations: run \`loopiq-mcp use-org <id|slug>\`.`;
      else if (!org) report.organization.problem = `No organization selected and you belong to ${me.organizations.length}: run \`loopiq-mcp use-org <id|slug>\`.`;
      else if (!org.mcpEnabled) report.organization.problem = `MCP is disabled for ${org.name}.`;
      else report.organization.valid = true;
    } else if (selection) {
      report.organization.problem = 'Cannot check the organization without a valid token.';
    }
    report.ok = report.token.valid && report.organization.valid;
  } finally {
    await client.close();
  }

  // An OAuth login: its kind, and the access token's expiry (read after the call, which may have refreshed it).
  const oauth = report.token.source === 'keychain' ? await (await import('./login-oauth.js')).oauthStatus(ctx) : undefined;
  if (oauth) Object.assign(report.token, oauth, report.token.warning?.includes('rotate') ? { warning: undefined } : {});
  if (opts.json) ctx.json(report);
  else {
    const t = report.token;
    ctx.print(`API:          ${report.apiUrl}${report.readOnly ? ' (read-only)' : ''}`);
    ctx.print(`User:         ${report.user ? `${report.user.name} <${report.user.email}>` : '-'}`);
    if (oauth) ctx.print(`Token:        ${(await import('./login-oauth.js')).describeOAuthToken(oauth, t.valid)}`);
    else ctx.print(`Token:        from ${t.source}; ${t.valid ? formatExpiry(t.expiresAt ?? null).text : 'NOT VALID'}`);
    if (t.problem) ctx.print(`              ${t.problem.replace(/\n/g, '\n              ')}`);
    if (t.warning) ctx.print(`              warning: ${t.warning}`);
    const o = report.organization;
    ctx.print(`Organization: ${o.selected ? `${o.selected.name} (${o.selected.slug}, ${o.selected.id})` : '-'}${o.source && o.source !== 'config' ? ` via ${o.source === 'env' ? 'LOOPIQ_ORG' : '--org'}` : ''}`);
    if (o.problem) ctx.print(`              ${o.problem}`);
    ctx.print(report.ok ? 'Status:       ready' : 'Status:       NOT READY');
  }
  return report.ok ? 0 : 1;
}

import { api, type Me } from '../api/contract.js';
import { toLoopIqError } from '../api/errors.js';
import { judgeOrg } from '../config/org-choice.js';
import type { GlobalFlags } from '../config/settings.js';
import { orgSelection } from '../server/org-scope.js';
import { inert } from '../util/inert.js';
import { commandContext, formatExpiry, processIo, type Io } from './context.js';
import type { OAuthStatus } from './login-oauth.js';

export interface StatusReport {
  ok: boolean;
  apiUrl: string;
  apiUrlSource: string;
  readOnly: boolean;
  token: { source: 'env' | 'keychain'; present: boolean; valid: boolean; expiresAt?: string | null; problem?: string; warning?: string; kind?: 'oauth'; oauth?: OAuthStatus['oauth'] };
  user?: Me['user'];
  organization: { selected?: { id: string; slug: string; name: string }; source?: string; valid: boolean; problem?: string; fix?: string };
}

/** Who, which org, where the token comes from, expiry; exit 1 when anything would break a launch. */
export async function status(opts: GlobalFlags & { json?: boolean }, io: Io = processIo()): Promise<number> {
  const ctx = await commandContext(opts, io);
  const client = ctx.api();
  const report: StatusReport = {
    ok: false,
    apiUrl: ctx.settings.apiUrl,
    apiUrlSource: ctx.settings.apiUrlSource,
    readOnly: ctx.settings.readOnly,
    token: { source: io.env.LOOPIQ_TOKEN ? 'env' : 'keychain', present: true, valid: false },
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
      const e = toLoopIqError(err);
      if (e.code === 'not_logged_in') report.token.present = false;
      report.token.problem = e.describe();
    }
    const selection = await orgSelection(ctx.settings);
    if (selection) report.organization.source = selection.source;
    if (me) {
      const verdict = judgeOrg(me.organizations, selection);
      if (verdict.org) report.organization.selected = { id: verdict.org.id, slug: verdict.org.slug, name: verdict.org.name };
      report.organization.valid = verdict.usable;
      if (verdict.problem) report.organization.problem = verdict.problem;
      if (verdict.fix) report.organization.fix = verdict.fix;
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
    const indent = (s: string) => s.split('\n').map(inert).join('\n              ');
    ctx.print(`API:          ${inert(report.apiUrl)}${report.apiUrlSource === 'env' ? ' (from LOOPIQ_API_URL)' : report.apiUrlSource === 'flag' ? ' (from --api-url)' : ''}${report.readOnly ? ' (read-only)' : ''}`);
    ctx.print(`User:         ${report.user ? `${inert(report.user.name)} <${inert(report.user.email)}>` : '-'}`);
    if (oauth) ctx.print(`Token:        ${inert((await import('./login-oauth.js')).describeOAuthToken(oauth, t.valid))}`);
    else ctx.print(`Token:        ${!t.present ? 'none (not logged in)' : `from ${t.source}; ${t.valid ? formatExpiry(t.expiresAt ?? null).text : 'NOT VALID'}`}`);
    if (t.problem) ctx.print(`              ${indent(t.problem)}`);
    if (t.warning) ctx.print(`              warning: ${t.warning}`);
    const o = report.organization;
    ctx.print(`Organization: ${o.selected ? `${inert(o.selected.name)} (${inert(o.selected.slug)}, ${inert(o.selected.id)})` : '-'}${o.source && o.source !== 'config' ? ` via ${o.source === 'env' ? 'LOOPIQ_ORG' : '--org'}` : ''}`);
    if (o.problem) ctx.print(`              ${o.problem}`);
    if (o.fix) ctx.print(`              fix: ${o.fix}`);
    ctx.print(report.ok ? 'Status:       ready' : 'Status:       NOT READY');
  }
  return report.ok ? 0 : 1;
}

import { api } from '../api/contract.js';
import { LoopIqError } from '../api/errors.js';
import type { GlobalFlags } from '../config/settings.js';
import { findOrg } from '../config/org-choice.js';
import { orgSelection } from '../server/org-scope.js';
import { inert } from '../util/inert.js';
import { commandContext, processIo, type Io } from './context.js';

export async function orgs(opts: GlobalFlags & { json?: boolean }, io: Io = processIo()): Promise<number> {
  const ctx = await commandContext(opts, io);
  const client = ctx.api();
  try {
    const me = await client.call(api.me());
    const selection = await orgSelection(ctx.settings);
    const selected = selection && findOrg(me.organizations, selection.value);
    if (opts.json) {
      ctx.json(me.organizations.map((o) => ({ ...o, selected: o.id === selected?.id })));
      return 0;
    }
    for (const o of me.organizations) {
      ctx.print(`${o.id === selected?.id ? '*' : ' '} ${inert(o.slug).padEnd(16)} ${inert(o.name)} (${inert(o.id)}, ${inert(o.role)}${o.mcpEnabled ? '' : ', MCP disabled'})`);
    }
    if (!selected && selection && selection.source !== 'config') ctx.print(`\n"${inert(selection.value)}" from ${selection.source === 'env' ? 'LOOPIQ_ORG' : '--org'} is not one of these.`);
    else if (!selected) ctx.print(`\nNo organization selected: run \`loopiq-mcp use-org <id|slug>\`.`);
    else if (selection.source !== 'config') ctx.print(`\n(selected by ${selection.source === 'env' ? 'LOOPIQ_ORG' : '--org'})`);
    return 0;
  } finally {
    await client.close();
  }
}

export async function useOrg(idOrSlug: string, opts: GlobalFlags & { json?: boolean }, io: Io = processIo()): Promise<number> {
  const ctx = await commandContext(opts, io);
  const client = ctx.api();
  try {
    const me = await client.call(api.me());
    const org = findOrg(me.organizations, idOrSlug);
    if (!org) {
      throw new LoopIqError('organization_unknown', `You are not a member of an organization "${inert(idOrSlug)}".`, `Your organizations: ${me.organizations.map((o) => inert(o.slug)).join(', ') || 'none'}.`);
    }
    if (!org.mcpEnabled) {
      throw new LoopIqError('mcp_disabled', `MCP access is disabled for ${inert(org.name)} (${inert(org.slug)}).`, 'An organization admin can enable it in LoopIQ settings.');
    }
    const selected = { id: org.id, slug: org.slug, name: org.name };
    await ctx.settings.config.update((d) => void (d.organizations[ctx.settings.apiOrigin] = selected));
    if (opts.json) ctx.json({ selected });
    else {
      ctx.print(`Selected ${inert(org.name)} (${inert(org.slug)}, ${inert(org.id)}). Running servers switch before their next call.`);
      if (io.env.LOOPIQ_ORG) ctx.print(`Note: LOOPIQ_ORG=${inert(io.env.LOOPIQ_ORG)} is set and overrides this selection.`);
    }
    return 0;
  } finally {
    await client.close();
  }
}

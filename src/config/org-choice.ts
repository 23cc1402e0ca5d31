import type { Organization } from '../api/contract.js';
import { inert } from '../util/inert.js';

export type OrgSource = 'flag' | 'env' | 'config';

/** "Which organization, and is it usable": one answer and one explanation for status, doctor and orgs. */
export interface OrgVerdict {
  org?: Organization;
  usable: boolean;
  /** What is wrong, in words (API strings already inert). */
  problem?: string;
  /** What to do about it; never suggests `use-org` when --org or LOOPIQ_ORG would override it. */
  fix?: string;
}

export function findOrg(orgs: Organization[], idOrSlug: string): Organization | undefined {
  return orgs.find((o) => o.id === idOrSlug) ?? orgs.find((o) => o.slug.toLowerCase() === idOrSlug.toLowerCase());
}

export function sourceName(source: OrgSource): string {
  return source === 'flag' ? '--org' : source === 'env' ? 'LOOPIQ_ORG' : 'the config file (`use-org`)';
}

export function judgeOrg(orgs: Organization[], selection: { value: string; source: OrgSource } | undefined): OrgVerdict {
  const yours = orgs.length ? orgs.map((o) => inert(o.slug)).join(', ') : 'none';
  const choose = (source: OrgSource | undefined) =>
    source === 'flag'
      ? `Use --org with one of yours: ${yours}.`
      : source === 'env'
        ? `Set LOOPIQ_ORG to one of yours (${yours}), or unset it and run \`loopiq-mcp use-org <id|slug>\`.`
        : `Run \`loopiq-mcp use-org <id|slug>\` (yours: ${yours}).`;
  if (!selection) {
    const [only] = orgs;
    if (orgs.length === 1 && only) {
      const org = only;
      return org.mcpEnabled ? { org, usable: true } : { org, usable: false, problem: `MCP is disabled for ${inert(org.name)}.`, fix: 'An organization admin can enable MCP in LoopIQ settings.' };
    }
    return { usable: false, problem: `No organization selected and you belong to ${orgs.length}.`, fix: choose(undefined) };
  }
  const org = findOrg(orgs, selection.value);
  if (!org) return { usable: false, problem: `"${inert(selection.value)}" (from ${sourceName(selection.source)}) is not one of your organizations.`, fix: choose(selection.source) };
  if (!org.mcpEnabled) return { org, usable: false, problem: `MCP is disabled for ${inert(org.name)}.`, fix: `An organization admin can enable MCP in LoopIQ settings, or: ${choose(selection.source)}` };
  return { org, usable: true };
}

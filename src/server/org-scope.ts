import type { ApiClient } from '../api/client.js';
import { api, type Me, type Organization } from '../api/contract.js';
import { LoopIqError } from '../api/errors.js';
import { sanitizeText } from '../util/untrusted.js';
import type { Settings } from '../config/settings.js';

export type OrgSelection = { value: string; source: 'flag' | 'env' | 'config' };

/** The selection as configured (--org, LOOPIQ_ORG, then the config file), without contacting LoopIQ. */
export async function orgSelection(settings: Pick<Settings, 'pinnedOrg' | 'config' | 'apiOrigin'>): Promise<OrgSelection | undefined> {
  if (settings.pinnedOrg) return settings.pinnedOrg;
  const file = await settings.config.readFresh();
  const sel = file.organizations[settings.apiOrigin];
  return sel ? { value: sel.id, source: 'config' } : undefined;
}

export interface OrgRef {
  id: string;
  slug: string;
  name: string;
}

/**
 * The organization every org-scoped call is pinned to. The model never chooses it: it comes from
 * --org / LOOPIQ_ORG or the config file (re-read before each call, so `use-org` in a terminal is
 * picked up by running servers), and is checked against the user's memberships.
 */
export class OrgScope {
  private me: Promise<Me> | undefined;

  constructor(
    private readonly client: ApiClient,
    private readonly settings: Pick<Settings, 'pinnedOrg' | 'config' | 'apiOrigin'>,
  ) {}

  whoami(signal?: AbortSignal): Promise<Me> {
    if (!this.me) {
      this.me = this.client.call(api.me(), signal ? { signal } : {});
      this.me.catch(() => (this.me = undefined));
    }
    return this.me;
  }

  /** Forget the cached identity (after a login change or a membership error). */
  invalidate() {
    this.me = undefined;
  }

  selection() {
    return orgSelection(this.settings);
  }

  async current(signal?: AbortSignal): Promise<OrgRef> {
    const selection = await this.selection();
    let me = await this.whoami(signal);
    if (!selection) return onlyOrg(me);
    let org = findOrg(me.organizations, selection.value);
    if (!org) {
      // Membership may have changed since we cached /me: ask once more before refusing.
      this.invalidate();
      me = await this.whoami(signal);
      org = findOrg(me.organizations, selection.value);
    }
    if (!org) {
      throw new LoopIqError(
        'organization_unknown',
        `The selected organization "${selection.value}" (from ${describeSource(selection.source)}) is not one of yours.`,
        `Your organizations: ${listOrgs(me.organizations)}. Run \`loopiq-mcp use-org <id|slug>\`${selection.source === 'config' ? '' : ' or fix ' + describeSource(selection.source)}.`,
        { data: { organizations: orgChoices(me.organizations) } },
      ).withOwnMessage(
        `The selected organization ${JSON.stringify(sanitizeText(selection.value))} (from ${describeSource(selection.source)}) is not one of yours.`,
        `Your organizations are listed in the data. Run \`loopiq-mcp use-org <id|slug>\`${selection.source === 'config' ? '' : ' or fix ' + describeSource(selection.source)}.`,
      );
    }
    if (!org.mcpEnabled) {
      throw new LoopIqError(
        'mcp_disabled',
        `MCP access is disabled for organization ${org.name} (${org.id}).`,
        'An organization admin can enable it in LoopIQ settings, or select another organization with `loopiq-mcp use-org`.',
        { data: { organization: { id: org.id, slug: org.slug, name: org.name } } },
      ).withOwnMessage('MCP access is disabled for the selected organization (named in the data).');
    }
    return { id: org.id, slug: org.slug, name: org.name };
  }
}

/** The org a selection names, or the sole org when nothing is selected (what `status` and `doctor` report). */
export function selectedOrg(orgs: Organization[], selection: { value: string } | undefined): Organization | undefined {
  if (selection) return findOrg(orgs, selection.value);
  return orgs.length === 1 ? orgs[0] : undefined;
}

export function findOrg(orgs: Organization[], idOrSlug: string): Organization | undefined {
  return orgs.find((o) => o.id === idOrSlug) ?? orgs.find((o) => o.slug.toLowerCase() === idOrSlug.toLowerCase());
}

export function listOrgs(orgs: Organization[]): string {
  return orgs.length ? orgs.map((o) => `${o.slug} (${o.name}, ${o.id})`).join(', ') : 'none';
}

function onlyOrg(me: Me): OrgRef {
  const usable = me.organizations.filter((o) => o.mcpEnabled);
  if (usable.length === 1 && me.organizations.length === 1) {
    const [o] = usable as [Organization];
    return { id: o.id, slug: o.slug, name: o.name };
  }
  throw new LoopIqError(
    'no_organization',
    `No organization is selected, and you belong to ${me.organizations.length}: ${listOrgs(me.organizations)}.`,
    'Ask the user which one to use; they select it in a terminal with `loopiq-mcp use-org <id|slug>` (or LOOPIQ_ORG / --org in the client config). The model cannot choose it.',
    { data: { organizations: orgChoices(me.organizations) } },
  ).withOwnMessage(`No organization is selected, and you belong to ${me.organizations.length} (listed in the data).`);
}

const orgChoices = (orgs: Organization[]) => orgs.map((o) => ({ id: o.id, slug: o.slug, name: o.name }));

function describeSource(source: 'flag' | 'env' | 'config'): string {
  return source === 'flag' ? '--org' : source === 'env' ? 'LOOPIQ_ORG' : 'the config file';
}

import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { LoopIqError } from '../api/errors.js';
import type { OrgSelection, OrgRef } from '../server/org-scope.js';
import type { HostedMcp } from './hosted-mcp.js';
import { isReadOnly } from './upstream-catalog.js';

/** A read-only tool that lists the user's organizations, when the endpoint has one. */
export const findOrganizationsTool = (tools: Tool[]) =>
  tools.find((t) => isReadOnly(t) && /(^|_)(list_)?(organizations|orgs|tenants)$/.test(t.name));

interface OrgEntry {
  id: string;
  slug?: string;
  name?: string;
  mcpEnabled?: boolean;
}

/** The organizations an endpoint's organizations tool returns (structured content or JSON text). */
export async function listOrganizations(mcp: HostedMcp, tool: Tool, signal?: AbortSignal): Promise<OrgEntry[]> {
  const r = await mcp.callTool(tool.name, {}, true, signal);
  let data: unknown = r.structuredContent;
  if (data === undefined) {
    const text = r.content.find((c) => c.type === 'text') as { text?: string } | undefined;
    try {
      data = JSON.parse(text?.text ?? 'null');
    } catch {
      data = undefined;
    }
  }
  const list = Array.isArray(data) ? data : (data as { organizations?: unknown; items?: unknown } | undefined)?.organizations ?? (data as { items?: unknown } | undefined)?.items;
  return (Array.isArray(list) ? list : []).filter((o): o is OrgEntry => !!o && typeof (o as OrgEntry).id === 'string');
}

/**
 * The pinned org in upstream mode: the selection as configured, named and checked through the
 * endpoint's organizations tool when it has one (a slug becomes its id); else taken as given.
 */
export class UpstreamOrg {
  private readonly resolved = new Map<string, OrgRef>();

  constructor(
    private readonly selection: () => Promise<OrgSelection | undefined>,
    private readonly mcp: HostedMcp,
    private readonly liveTools: (signal?: AbortSignal) => Promise<Tool[]>,
  ) {}

  /** What the org header carries now (no network): the resolved id, else the selection as given. */
  async header(): Promise<string> {
    const sel = await this.require();
    return this.resolved.get(sel.value)?.id ?? sel.value;
  }

  async current(signal?: AbortSignal): Promise<OrgRef> {
    const sel = await this.require();
    const known = this.resolved.get(sel.value);
    if (known) return known;
    const tool = findOrganizationsTool(await this.liveTools(signal));
    if (!tool) return { id: sel.value, slug: sel.value, name: sel.value };
    const orgs = await listOrganizations(this.mcp, tool, signal);
    const v = sel.value.toLowerCase();
    const o = orgs.find((x) => x.id === sel.value) ?? orgs.find((x) => x.slug?.toLowerCase() === v);
    if (!o) {
      throw new LoopIqError(
        'organization_unknown',
        `The selected organization "${sel.value}" is not one of yours at the hosted endpoint.`,
        `Your organizations: ${orgs.map((x) => `${x.slug ?? x.id} (${x.name ?? x.id}, ${x.id})`).join(', ') || 'none'}. Run \`loopiq-mcp use-org <id>\`.`,
      );
    }
    if (o.mcpEnabled === false) {
      throw new LoopIqError('mcp_disabled', `MCP access is disabled for organization ${o.name ?? o.id} (${o.id}).`, 'An organization admin can enable it, or select another organization with `loopiq-mcp use-org`.');
    }
    const ref = { id: o.id, slug: o.slug ?? o.id, name: o.name ?? o.id };
    this.resolved.set(sel.value, ref);
    return ref;
  }

  private async require(): Promise<OrgSelection> {
    const sel = await this.selection();
    if (!sel) {
      throw new LoopIqError(
        'no_organization',
        'No organization is selected for the hosted endpoint.',
        'Ask the user which one to use; they select it with `loopiq-mcp use-org <id>` (or LOOPIQ_ORG / --org in the client config). The model cannot choose it.',
      );
    }
    return sel;
  }
}

import { z } from 'zod';
import {
  api,
  EVIDENCE_STATUSES,
  INCIDENT_SEVERITIES,
  INCIDENT_STATUSES,
  RELEASE_STATUSES,
  SEARCH_TYPES,
  WORK_ITEM_STATUSES,
  WORK_ITEM_TYPES,
} from '../api/contract.js';
import type { ReadEndpoint } from '../api/read-api.js';
import { defineTool, listOutput, organizationsOutput, paging, READ, recordId, recordOutput, whoamiOutput, type ToolDef } from './define.js';
import { listResult, recordResult } from './format.js';

type Query = Record<string, string | number | undefined>;

/** A paged list: filters become query parameters; the org is injected by the server. */
function listTool<F extends z.ZodRawShape>(spec: {
  name: string;
  title: string;
  description: string;
  noun: string;
  /** Built on first use (see define.ts). */
  filters: () => F;
  endpoint: (q: Query) => ReadEndpoint<z.ZodType>;
  /** The tool that returns one of these records whole (named when long text was shortened). */
  getTool?: string;
  toQuery?: (args: z.infer<z.ZodObject<F>>) => Query;
}): ToolDef {
  return defineTool({
    name: spec.name,
    title: spec.title,
    description: spec.description,
    scope: 'org',
    input: () => ({ ...spec.filters(), ...paging() }),
    output: listOutput,
    annotations: READ,
    async handler(args, ctx) {
      const { limit, cursor, ...filters } = args as { limit: number; cursor?: string } & Record<string, unknown>;
      const query: Query = { ...(spec.toQuery ? spec.toQuery(filters as z.infer<z.ZodObject<F>>) : (filters as Query)), limit, cursor };
      const res = await ctx.api.callWithMeta(spec.endpoint(query), ctx.call);
      return listResult(ctx.org, spec.noun, res.data as { items: object[]; nextCursor: string | null }, res, spec.getTool);
    },
  });
}

function getTool(spec: { name: string; title: string; description: string; noun: string; endpoint: (id: string) => ReadEndpoint<z.ZodType> }): ToolDef {
  return defineTool({
    name: spec.name,
    title: spec.title,
    description: spec.description,
    scope: 'org',
    input: () => ({ id: recordId(spec.noun) }),
    output: recordOutput,
    annotations: READ,
    async handler({ id }, ctx) {
      const res = await ctx.api.callWithMeta(spec.endpoint(id), ctx.call);
      return recordResult(ctx.org, spec.noun, res.data as object, res);
    },
  });
}

export const whoami = defineTool({
  name: 'loopiq_whoami',
  title: 'Who am I',
  description: 'The signed-in LoopIQ user, token expiry, and the organization this server is pinned to.',
  scope: 'user',
  input: () => ({}),
  output: whoamiOutput,
  annotations: READ,
  async handler(_args, ctx) {
    const me = await ctx.whoami();
    const structured: Record<string, unknown> = { user: me.user, tokenExpiresAt: me.token.expiresAt, organization: ctx.org ?? null };
    if (!ctx.org) structured.organizationProblem = 'No usable organization is selected; see loopiq_list_organizations.';
    return {
      summary: `The signed-in LoopIQ user${ctx.org ? ' and the organization this server is pinned to' : '; no usable organization is selected'}.`,
      structured,
    };
  },
});

export const listOrganizations = defineTool({
  name: 'loopiq_list_organizations',
  title: 'List organizations',
  description: 'Organizations the user belongs to, marking the one this server is pinned to. Only the user can change it.',
  scope: 'user',
  input: () => ({}),
  output: organizationsOutput,
  annotations: READ,
  async handler(_args, ctx) {
    const me = await ctx.whoami();
    const organizations = me.organizations.map((o) => ({ ...o, selected: o.id === ctx.org?.id }));
    return {
      summary: `${organizations.length} organization(s); ${ctx.org ? 'the pinned one is marked "selected": true' : 'none is pinned (the user runs `loopiq-mcp use-org <id|slug>`)'}.`,
      structured: { organizations, organization: ctx.org ?? null },
    };
  },
});

export const search = listTool({
  name: 'loopiq_search',
  title: 'Search LoopIQ',
  description: 'Full-text search across work items, releases, certifications, evidence, incidents and service requests.',
  noun: 'result',
  filters: () => ({
    query: z.string().min(1).max(500).describe('Search text'),
    types: z.array(z.enum(SEARCH_TYPES)).min(1).optional().describe('Restrict to these record types'),
  }),
  endpoint: api.search,
  toQuery: ({ query, types }) => ({ q: query, types: types?.join(',') }),
});

export const listWorkItems = listTool({
  name: 'loopiq_list_work_items',
  title: 'List work items',
  description: 'Stories, tasks, bugs and issues, filtered by status, type, assignee, release or text.',
  noun: 'work item',
  getTool: 'loopiq_get_work_item',
  filters: () => ({
    status: z.enum(WORK_ITEM_STATUSES).optional(),
    type: z.enum(WORK_ITEM_TYPES).optional(),
    assigneeId: z.string().max(128).optional(),
    releaseId: z.string().max(128).optional(),
    query: z.string().max(500).optional().describe('Text filter'),
  }),
  endpoint: api.listWorkItems,
  toQuery: ({ query, ...rest }) => ({ ...rest, q: query }),
});

export const getWorkItem = getTool({
  name: 'loopiq_get_work_item',
  title: 'Get work item',
  description: 'One work item by id.',
  noun: 'Work item',
  endpoint: api.getWorkItem,
});

export const listReleases = listTool({
  name: 'loopiq_list_releases',
  title: 'List releases',
  description: 'Releases with their readiness state.',
  noun: 'release',
  getTool: 'loopiq_get_release',
  filters: () => ({ status: z.enum(RELEASE_STATUSES).optional() }),
  endpoint: api.listReleases,
});

export const getRelease = getTool({
  name: 'loopiq_get_release',
  title: 'Get release',
  description: 'One release with readiness: governance checks and blockers.',
  noun: 'Release',
  endpoint: api.getRelease,
});

export const getCertification = getTool({
  name: 'loopiq_get_release_certification',
  title: 'Get release certification',
  description: 'A release certification: controls, findings and provider blockers.',
  noun: 'Certification',
  endpoint: api.getCertification,
});

export const getEvidenceGraph = getTool({
  name: 'loopiq_get_release_certification_evidence_graph',
  title: 'Get certification evidence graph',
  description: 'Controls, evidence, findings and work items linked to a certification, and the evidence gaps.',
  noun: 'Evidence graph of certification',
  endpoint: api.getEvidenceGraph,
});

export const listEvidence = listTool({
  name: 'loopiq_list_evidence',
  title: 'List evidence',
  description: 'Compliance evidence, filtered by control, release or status.',
  noun: 'evidence record',
  filters: () => ({
    controlId: z.string().max(128).optional(),
    releaseId: z.string().max(128).optional(),
    status: z.enum(EVIDENCE_STATUSES).optional(),
  }),
  endpoint: api.listEvidence,
});

export const listIncidents = listTool({
  name: 'loopiq_list_incidents',
  title: 'List incidents',
  description: 'Incidents, filtered by status or severity.',
  noun: 'incident',
  getTool: 'loopiq_get_incident',
  filters: () => ({ status: z.enum(INCIDENT_STATUSES).optional(), severity: z.enum(INCIDENT_SEVERITIES).optional() }),
  endpoint: api.listIncidents,
});

export const getIncident = getTool({
  name: 'loopiq_get_incident',
  title: 'Get incident',
  description: 'One incident by id.',
  noun: 'Incident',
  endpoint: api.getIncident,
});

export const listServiceRequests = listTool({
  name: 'loopiq_list_service_requests',
  title: 'List service requests',
  description: 'Service requests, filtered by status.',
  noun: 'service request',
  getTool: 'loopiq_get_service_request',
  filters: () => ({ status: z.string().max(64).optional() }),
  endpoint: api.listServiceRequests,
});

export const getServiceRequest = getTool({
  name: 'loopiq_get_service_request',
  title: 'Get service request',
  description: 'One service request by id.',
  noun: 'Service request',
  endpoint: api.getServiceRequest,
});

export const READ_TOOLS: ToolDef[] = [
  whoami,
  listOrganizations,
  search,
  listWorkItems,
  getWorkItem,
  listReleases,
  getRelease,
  getCertification,
  getEvidenceGraph,
  listEvidence,
  listIncidents,
  getIncident,
  listServiceRequests,
  getServiceRequest,
];

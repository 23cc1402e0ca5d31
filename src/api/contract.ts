/**
 * The LoopIQ REST contract (v1), as assumed by loopiq-mcp.
 *
 * LoopIQ publishes no REST reference (see docs/rest-contract.md). Everything the rest of the code
 * knows about paths, headers and payload shapes lives here, so a change on LoopIQ's side is a
 * change in this file.
 */
import { z } from 'zod';
import { lazy } from '../util/lazy.js';

export const API_PREFIX = '/api/v1';

export const DEFAULT_API_URL = 'https://ai.loopiq.com';

export const HEADERS = {
  authorization: 'authorization',
  userAgent: 'user-agent',
  requestId: 'x-request-id',
  traceparent: 'traceparent',
  organization: 'loopiq-organization',
  idempotencyKey: 'idempotency-key',
  retryAfter: 'retry-after',
} as const;

export const PROBLEM_CODES = [
  'unauthenticated',
  'token_expired',
  'forbidden',
  'org_access_denied',
  'mcp_disabled',
  'not_found',
  'conflict',
  'idempotency_key_reused',
  'validation_failed',
  'rate_limited',
  'internal',
  'unavailable',
] as const;
export type ProblemCode = (typeof PROBLEM_CODES)[number];

// Each schema is built on first use (util/lazy.ts): building all of them costs a start ~4 ms,
// and a start needs none (the first call needs two).
export const Problem = lazy(() => z.object({
  type: z.string().optional(),
  title: z.string().optional(),
  status: z.number().int(),
  detail: z.string().optional(),
  code: z.string(),
  requestId: z.string().optional(),
  errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
}));
export type Problem = z.infer<ReturnType<typeof Problem>>;

const id = z.string().min(1);
const isoDate = z.string();
const nullableString = z.string().nullable();

// ---------- identity ----------

export const Organization = lazy(() => z.object({
  id,
  slug: z.string(),
  name: z.string(),
  role: z.string(),
  mcpEnabled: z.boolean(),
}));
export type Organization = z.infer<ReturnType<typeof Organization>>;

export const Me = lazy(() => z.object({
  user: z.object({ id, email: z.string(), name: z.string() }),
  token: z.object({ id, name: z.string(), expiresAt: isoDate.nullable(), scopes: z.array(z.string()) }),
  organizations: z.array(Organization()),
}));
export type Me = z.infer<ReturnType<typeof Me>>;

export const RotatedToken = lazy(() => z.object({
  token: z.string().min(1),
  id,
  expiresAt: isoDate.nullable(),
  previous: z.object({ id, expiresAt: isoDate.nullable() }),
}));
export type RotatedToken = z.infer<ReturnType<typeof RotatedToken>>;

// ---------- records ----------

export const SEARCH_TYPES = [
  'work_item',
  'release',
  'release_certification',
  'evidence',
  'incident',
  'service_request',
] as const;

export const SearchHit = lazy(() => z.object({
  type: z.enum(SEARCH_TYPES),
  id,
  title: z.string(),
  snippet: z.string(),
  organizationId: id,
  updatedAt: isoDate,
  url: z.string(),
}));

export const WORK_ITEM_TYPES = ['story', 'task', 'bug', 'issue'] as const;
export const WORK_ITEM_STATUSES = ['todo', 'in_progress', 'in_review', 'blocked', 'done'] as const;
export const PRIORITIES = ['low', 'medium', 'high', 'critical'] as const;

export const WorkItem = lazy(() => z.object({
  id,
  organizationId: id,
  key: z.string(),
  type: z.enum(WORK_ITEM_TYPES),
  title: z.string(),
  description: nullableString,
  status: z.enum(WORK_ITEM_STATUSES),
  priority: z.enum(PRIORITIES),
  assigneeId: nullableString,
  teamId: nullableString,
  releaseId: nullableString,
  parentId: nullableString,
  labels: z.array(z.string()),
  createdAt: isoDate,
  updatedAt: isoDate,
  url: z.string(),
}));
export type WorkItem = z.infer<ReturnType<typeof WorkItem>>;

export const RELEASE_STATUSES = ['planned', 'in_progress', 'certifying', 'released', 'rolled_back'] as const;

export const Release = lazy(() => z.object({
  id,
  organizationId: id,
  name: z.string(),
  version: z.string(),
  status: z.enum(RELEASE_STATUSES),
  targetDate: isoDate.nullable(),
  certificationId: nullableString,
  readiness: z.object({
    state: z.enum(['ready', 'at_risk', 'blocked']),
    governanceChecks: z.array(
      z.object({ id, label: z.string(), severity: z.string(), status: z.string(), dueDate: isoDate.nullable() }),
    ),
    blockers: z.array(z.object({ id, kind: z.string(), title: z.string(), source: z.string() })),
  }),
}));

export const ReleaseCertification = lazy(() => z.object({
  id,
  organizationId: id,
  releaseId: id,
  status: z.enum(['draft', 'in_review', 'certified', 'rejected']),
  controls: z.array(
    z.object({ id, name: z.string(), framework: z.string(), status: z.enum(['passed', 'failed', 'not_tested']) }),
  ),
  findings: z.array(z.object({ id, title: z.string(), severity: z.string(), provider: z.string() })),
  providerBlockers: z.array(z.object({ id, provider: z.string(), title: z.string() })),
}));

export const EvidenceGraph = lazy(() => z.object({
  certificationId: id,
  organizationId: id,
  nodes: z.array(
    z.object({
      id,
      kind: z.enum(['control', 'evidence', 'finding', 'work_item', 'provider']),
      label: z.string(),
      status: z.string().nullable(),
    }),
  ),
  edges: z.array(z.object({ from: id, to: id, relation: z.string() })),
  gaps: z.array(z.object({ controlId: id, reason: z.string() })),
}));

export const EVIDENCE_STATUSES = ['valid', 'stale', 'missing'] as const;
export const Evidence = lazy(() => z.object({
  id,
  organizationId: id,
  controlId: id,
  releaseId: nullableString,
  title: z.string(),
  kind: z.string(),
  source: z.string(),
  collectedAt: isoDate.nullable(),
  status: z.enum(EVIDENCE_STATUSES),
  url: z.string(),
}));

export const INCIDENT_SEVERITIES = ['sev1', 'sev2', 'sev3', 'sev4'] as const;
export const INCIDENT_STATUSES = ['open', 'mitigated', 'resolved'] as const;
export const Incident = lazy(() => z.object({
  id,
  organizationId: id,
  key: z.string(),
  title: z.string(),
  severity: z.enum(INCIDENT_SEVERITIES),
  status: z.enum(INCIDENT_STATUSES),
  service: z.string(),
  startedAt: isoDate,
  resolvedAt: isoDate.nullable(),
  summary: nullableString,
  relatedWorkItemIds: z.array(z.string()),
}));

export const ServiceRequest = lazy(() => z.object({
  id,
  organizationId: id,
  key: z.string(),
  title: z.string(),
  description: nullableString,
  category: z.string(),
  priority: z.enum(PRIORITIES),
  status: z.string(),
  requesterId: nullableString,
  assigneeId: nullableString,
  teamId: nullableString,
  dueDate: isoDate.nullable(),
}));

export const Comment = lazy(() => z.object({
  id,
  organizationId: id,
  workItemId: id,
  body: z.string(),
  authorId: id,
  createdAt: isoDate,
}));

/**
 * What a response may be before it is parsed and validated: a hostile or broken API must not be
 * able to make this process spend unbounded memory or time (invariant 9).
 */
export const RESPONSE_LIMITS = {
  /** Bytes of body; past this the body is refused unread (streamed, aborted). */
  maxBytes: 4 * 1024 * 1024,
  /** Nesting of objects/arrays (no contract record nests deeper than ~6). */
  maxDepth: 64,
  /** JSON values in one response (100 full records are a few thousand). */
  maxValues: 200_000,
  /** `?limit=1..100`: a page never holds more. */
  maxPageItems: 100,
} as const;

/** A page of records: `?limit=1..100&cursor=<opaque>` → `{items, nextCursor}` (one schema per record schema). */
const pages = new WeakMap<z.ZodType, z.ZodType>();
export function page<T extends z.ZodType>(item: T) {
  const build = () => z.object({ items: z.array(item).max(RESPONSE_LIMITS.maxPageItems), nextCursor: z.string().nullable() });
  let built = pages.get(item) as ReturnType<typeof build> | undefined;
  if (!built) pages.set(item, (built = build()));
  return built;
}
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

// ---------- write bodies ----------

export const CreateWorkItemBody = lazy(() => z.object({
  type: z.enum(WORK_ITEM_TYPES),
  title: z.string().min(1).max(300),
  description: z.string().max(20_000).optional(),
  priority: z.enum(PRIORITIES).optional(),
  assigneeId: z.string().optional(),
  teamId: z.string().optional(),
  releaseId: z.string().optional(),
  parentId: z.string().optional(),
  labels: z.array(z.string()).max(20).optional(),
}));

export const UpdateWorkItemBody = lazy(() => z.object({
  title: z.string().min(1).max(300).optional(),
  description: z.string().max(20_000).optional(),
  status: z.enum(WORK_ITEM_STATUSES).optional(),
  priority: z.enum(PRIORITIES).optional(),
  assigneeId: z.string().nullable().optional(),
  releaseId: z.string().nullable().optional(),
  labels: z.array(z.string()).max(20).optional(),
}));

export const CommentBody = lazy(() => z.object({ body: z.string().min(1).max(20_000) }));

export const CreateServiceRequestBody = lazy(() => z.object({
  title: z.string().min(1).max(300),
  description: z.string().max(20_000).optional(),
  category: z.string().min(1),
  priority: z.enum(PRIORITIES).optional(),
  assigneeId: z.string().optional(),
  teamId: z.string().optional(),
  dueDate: z.string().optional(),
}));

export const RemediationWorkPackageBody = lazy(() => z.object({
  certificationId: z.string().optional(),
  releaseId: z.string().optional(),
  teamId: z.string().optional(),
  parent: z.object({ title: z.string().min(1).max(300), description: z.string().max(20_000).optional() }),
  tasks: z
    .array(z.object({ title: z.string().min(1).max(300), description: z.string().max(20_000).optional(), assigneeId: z.string().optional() }))
    .min(1)
    .max(50),
  references: z.array(z.object({ kind: z.enum(['control', 'finding', 'evidence', 'blocker']), id: z.string().min(1) })).max(100),
}));

export const RemediationWorkPackage = lazy(() => z.object({ parent: WorkItem(), tasks: z.array(WorkItem()), auditId: z.string() }));

/** `?dryRun=true` answers `200 {dryRun: true, preview}` and changes nothing. */
export const DryRun = lazy(() => z.object({ dryRun: z.literal(true), preview: z.record(z.string(), z.unknown()) }));
export type DryRun = z.infer<ReturnType<typeof DryRun>>;

// ---------- endpoints ----------

export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE';

export interface Endpoint<R extends z.ZodType> {
  method: HttpMethod;
  path: string;
  /** Sends `LoopIQ-Organization` and checks `organizationId` on what comes back. */
  orgScoped: boolean;
  response: R;
  query?: Record<string, string | number | undefined>;
  body?: unknown;
}

const seg = (v: string) => encodeURIComponent(v);
const P = API_PREFIX;

type Query = Record<string, string | number | undefined>;

export const api = {
  me: () => ({ method: 'GET', path: `${P}/me`, orgScoped: false, response: Me() }) as const,
  rotateToken: () => ({ method: 'POST', path: `${P}/tokens/rotate`, orgScoped: false, response: RotatedToken() }) as const,
  revokeToken: (tokenId: string) =>
    ({ method: 'DELETE', path: `${P}/tokens/${seg(tokenId)}`, orgScoped: false, response: z.unknown() }) as const,

  search: (query: Query) => ({ method: 'GET', path: `${P}/search`, orgScoped: true, response: page(SearchHit()), query }) as const,
  listWorkItems: (query: Query) =>
    ({ method: 'GET', path: `${P}/work-items`, orgScoped: true, response: page(WorkItem()), query }) as const,
  getWorkItem: (itemId: string) =>
    ({ method: 'GET', path: `${P}/work-items/${seg(itemId)}`, orgScoped: true, response: WorkItem() }) as const,
  listReleases: (query: Query) =>
    ({ method: 'GET', path: `${P}/releases`, orgScoped: true, response: page(Release()), query }) as const,
  getRelease: (releaseId: string) =>
    ({ method: 'GET', path: `${P}/releases/${seg(releaseId)}`, orgScoped: true, response: Release() }) as const,
  getCertification: (certId: string) =>
    ({ method: 'GET', path: `${P}/release-certifications/${seg(certId)}`, orgScoped: true, response: ReleaseCertification() }) as const,
  getEvidenceGraph: (certId: string) =>
    ({
      method: 'GET',
      path: `${P}/release-certifications/${seg(certId)}/evidence-graph`,
      orgScoped: true,
      response: EvidenceGraph(),
    }) as const,
  listEvidence: (query: Query) =>
    ({ method: 'GET', path: `${P}/evidence`, orgScoped: true, response: page(Evidence()), query }) as const,
  listIncidents: (query: Query) =>
    ({ method: 'GET', path: `${P}/incidents`, orgScoped: true, response: page(Incident()), query }) as const,
  getIncident: (incidentId: string) =>
    ({ method: 'GET', path: `${P}/incidents/${seg(incidentId)}`, orgScoped: true, response: Incident() }) as const,
  listServiceRequests: (query: Query) =>
    ({ method: 'GET', path: `${P}/service-requests`, orgScoped: true, response: page(ServiceRequest()), query }) as const,
  getServiceRequest: (requestId: string) =>
    ({ method: 'GET', path: `${P}/service-requests/${seg(requestId)}`, orgScoped: true, response: ServiceRequest() }) as const,

  createWorkItem: (body: z.infer<ReturnType<typeof CreateWorkItemBody>>) =>
    ({ method: 'POST', path: `${P}/work-items`, orgScoped: true, response: WorkItem(), body }) as const,
  updateWorkItem: (itemId: string, body: z.infer<ReturnType<typeof UpdateWorkItemBody>>) =>
    ({ method: 'PATCH', path: `${P}/work-items/${seg(itemId)}`, orgScoped: true, response: WorkItem(), body }) as const,
  addComment: (itemId: string, body: z.infer<ReturnType<typeof CommentBody>>) =>
    ({ method: 'POST', path: `${P}/work-items/${seg(itemId)}/comments`, orgScoped: true, response: Comment(), body }) as const,
  createServiceRequest: (body: z.infer<ReturnType<typeof CreateServiceRequestBody>>) =>
    ({ method: 'POST', path: `${P}/service-requests`, orgScoped: true, response: ServiceRequest(), body }) as const,
  createRemediationWorkPackage: (body: z.infer<ReturnType<typeof RemediationWorkPackageBody>>) =>
    ({
      method: 'POST',
      path: `${P}/remediation-work-packages`,
      orgScoped: true,
      response: RemediationWorkPackage(),
      body,
    }) as const,
} satisfies Record<string, (...args: never[]) => Endpoint<z.ZodType>>;

/** Write responses, by path shape; used to re-validate a stored, approved request's result. */
export function writeResponseFor(method: HttpMethod, path: string): z.ZodType {
  if (path.endsWith('/comments')) return Comment();
  if (path.startsWith(`${P}/service-requests`)) return ServiceRequest();
  if (path.startsWith(`${P}/remediation-work-packages`)) return RemediationWorkPackage();
  if (path.startsWith(`${P}/work-items`) && (method === 'POST' || method === 'PATCH')) return WorkItem();
  return z.unknown();
}

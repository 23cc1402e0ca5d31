/**
 * A fake LoopIQ implementing the REST contract of docs/rest-contract.md: auth, org membership,
 * problem+json errors, cursors, idempotency keys, dry runs, token rotation with a grace period.
 * `serve --sandbox` and the end-to-end tests both talk to it over a real loopback port.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { z } from 'zod';
import {
  API_PREFIX,
  CommentBody,
  CreateServiceRequestBody,
  CreateWorkItemBody,
  HEADERS,
  RemediationWorkPackageBody,
  SEARCH_TYPES,
  UpdateWorkItemBody,
  type ProblemCode,
} from '../api/contract.js';
import { SandboxMcpEndpoint } from './mcp-endpoint.js';
import { ORGS, SANDBOX_TOKENS, USERS, seedRecords, type SandboxOrg, type SeedRecords } from './seed.js';

type Rec = Record<string, unknown>;

export interface TokenRecord {
  id: string;
  userId: string;
  name: string;
  expiresAt: string | null;
  scopes: string[];
  revoked: boolean;
  /** Set on rotation: the token keeps working until then (or until revoked). */
  graceUntil?: number;
  /** The token this one replaced, which it may revoke. */
  predecessorId?: string;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: string;
  headers: Record<string, string | undefined>;
  body: string;
  status: number;
  /** The client went away before the response was sent (cancellation). */
  aborted?: boolean;
}

/** A one-shot (or n-shot) misbehaviour for matching requests. */
export type Fault = {
  method?: string;
  path?: string | RegExp;
  /** Match only dry runs (true) or only real requests (false). */
  dryRun?: boolean;
  times?: number;
} & (
  | { kind: 'status'; status: number; code: ProblemCode; retryAfter?: number }
  | { kind: 'reset' }
  | { kind: 'delay'; ms: number }
  | { kind: 'truncate' }
  | { kind: 'garbage' }
  /** Succeeds, but the response is lost: the client sees a reset after the write happened. */
  | { kind: 'reset-after' }
  /** Handles the request, then sends the response body one byte every `everyMs`. */
  | { kind: 'drip'; everyMs: number }
);

export interface SandboxOptions {
  rotationGraceMs?: number;
  /** Inject one record of another organization into every list (the server must withhold it). */
  leakForeignRecords?: boolean;
  /** Random faults for soak tests: probability per request in [0, 1). */
  faultRate?: number;
}

export class FakeLoopIq {
  readonly orgs: SandboxOrg[] = structuredClone(ORGS);
  readonly users = structuredClone(USERS);
  readonly tokens = new Map<string, TokenRecord>();
  readonly records: SeedRecords;
  readonly comments: Rec[] = [];
  readonly requests: RecordedRequest[] = [];
  readonly faults: Fault[] = [];
  readonly options: Required<SandboxOptions>;
  private readonly idempotency = new Map<string, { fingerprint: string; status: number; body: unknown }>();
  private seq = 1000;
  baseUrl = 'https://sandbox.loopiq.invalid';

  constructor(options: SandboxOptions = {}) {
    this.options = { rotationGraceMs: 5 * 60_000, leakForeignRecords: false, faultRate: 0, ...options };
    this.records = seedRecords();
    this.issueToken('usr_alex', { token: SANDBOX_TOKENS.alex, name: 'sandbox-alex' });
    this.issueToken('usr_sam', { token: SANDBOX_TOKENS.sam, name: 'sandbox-sam' });
  }

  issueToken(userId: string, opts: { token?: string; name?: string; expiresInMs?: number; scopes?: string[] } = {}): string {
    const token = opts.token ?? `lqp_${randomBytes(18).toString('base64url')}`;
    this.tokens.set(token, {
      id: `tok_${randomBytes(6).toString('hex')}`,
      userId,
      name: opts.name ?? 'api token',
      expiresAt: new Date(Date.now() + (opts.expiresInMs ?? 90 * 86_400_000)).toISOString(),
      scopes: opts.scopes ?? ['read', 'write'],
      revoked: false,
    });
    return token;
  }

  /** POST/PATCH requests that reached a handler and were not dry runs. */
  writes(): RecordedRequest[] {
    return this.requests.filter((r) => r.method !== 'GET' && !r.query.includes('dryRun=true') && !r.path.startsWith(`${API_PREFIX}/tokens`));
  }

  // ---------------------------------------------------------------- HTTP

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sandbox');
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const bodyText = Buffer.concat(chunks).toString('utf8');
    const record: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.search,
      headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : v])),
      body: bodyText,
      status: 0,
    };
    this.requests.push(record);
    res.on('close', () => {
      if (!res.writableFinished) record.aborted = true;
    });
    const requestId = (req.headers[HEADERS.requestId] as string | undefined) ?? randomUUID();

    const fault = this.takeFault(record);
    if (fault?.kind === 'reset') {
      record.status = -1;
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'delay') await new Promise((r) => setTimeout(r, fault.ms));
    if (fault?.kind === 'status') {
      record.status = fault.status;
      this.send(res, fault.status, problem(fault.status, fault.code, 'Injected fault.', requestId), fault.retryAfter);
      return;
    }

    let status: number;
    let body: unknown;
    try {
      ({ status, body } = this.route(record, url, bodyText));
    } catch (err) {
      if (err instanceof HttpProblem) {
        status = err.status;
        body = problem(err.status, err.code, err.message, requestId, err.errors);
      } else {
        status = 500;
        body = problem(500, 'internal', String(err), requestId);
      }
    }
    record.status = status;
    if (fault?.kind === 'reset-after') {
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'truncate') {
      const text = JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(text.slice(0, Math.max(1, Math.floor(text.length / 2))));
      return;
    }
    if (fault?.kind === 'drip') {
      const text = JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json' });
      for (let i = 0; i < text.length && !res.destroyed; i++) {
        res.write(text[i]);
        await new Promise((r) => setTimeout(r, fault.everyMs));
      }
      if (!res.destroyed) res.end();
      return;
    }
    if (fault?.kind === 'garbage') {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ items: [{ id: 42, organizationId: null }], unexpected: true }));
      return;
    }
    this.send(res, status, body);
  }

  private takeFault(r: RecordedRequest): Fault | undefined {
    const i = this.faults.findIndex(
      (f) =>
        (!f.method || f.method === r.method) &&
        (f.dryRun === undefined || f.dryRun === r.query.includes('dryRun=true')) &&
        (!f.path || (typeof f.path === 'string' ? r.path.startsWith(f.path) : f.path.test(r.path))),
    );
    const f = this.faults[i];
    if (f) {
      if (f.times === undefined || f.times <= 1) this.faults.splice(i, 1);
      else f.times--;
      return f;
    }
    if (this.options.faultRate > 0 && Math.random() < this.options.faultRate) {
      const pick = Math.random();
      if (pick < 0.3) return { kind: 'status', status: 503, code: 'unavailable', retryAfter: 0 };
      if (pick < 0.5) return { kind: 'status', status: 429, code: 'rate_limited', retryAfter: 0 };
      if (pick < 0.7) return { kind: 'reset' };
      if (pick < 0.85) return { kind: 'delay', ms: 20 };
      return r.method === 'GET' ? { kind: 'truncate' } : { kind: 'reset-after' };
    }
    return undefined;
  }

  private send(res: ServerResponse, status: number, body: unknown, retryAfter?: number) {
    const headers: Record<string, string> = {};
    if (body !== undefined) {
      headers['content-type'] = status >= 400 ? 'application/problem+json' : 'application/json';
    }
    if (retryAfter !== undefined) headers[HEADERS.retryAfter] = String(retryAfter);
    res.writeHead(status, headers);
    res.end(body === undefined ? undefined : JSON.stringify(body));
  }

  // ---------------------------------------------------------------- routing

  private route(r: RecordedRequest, url: URL, bodyText: string): { status: number; body: unknown } {
    const auth = this.authenticate(r.headers.authorization);
    const p = url.pathname;
    const q = url.searchParams;
    const m = r.method;
    if (!p.startsWith(`${API_PREFIX}/`)) throw new HttpProblem(404, 'not_found', `No route ${m} ${p}.`);
    const rest = p.slice(API_PREFIX.length);

    if (m === 'GET' && rest === '/me') return ok(this.me(auth));
    if (m === 'POST' && rest === '/tokens/rotate') return { status: 201, body: this.rotate(auth) };
    let id = captured(/^\/tokens\/([^/]+)$/, rest);
    if (m === 'DELETE' && id) {
      this.revoke(auth, decodeURIComponent(id));
      return { status: 204, body: undefined };
    }

    const org = this.orgFor(auth, r.headers[HEADERS.organization]);
    const dryRun = q.get('dryRun') === 'true';

    if (m === 'GET' && rest === '/search') return ok(this.search(org, q));
    if (m === 'GET' && rest === '/work-items') return ok(this.list(this.records.workItems, org, q, ['status', 'type', 'assigneeId', 'releaseId']));
    if (m === 'GET' && rest === '/releases') return ok(this.list(this.records.releases, org, q, ['status']));
    if (m === 'GET' && rest === '/evidence') return ok(this.list(this.records.evidence, org, q, ['controlId', 'releaseId', 'status']));
    if (m === 'GET' && rest === '/incidents') return ok(this.list(this.records.incidents, org, q, ['status', 'severity']));
    if (m === 'GET' && rest === '/service-requests') return ok(this.list(this.records.serviceRequests, org, q, ['status']));

    if ((id = captured(/^\/work-items\/([^/]+)$/, rest))) {
      const item = this.find(this.records.workItems, org, id);
      if (m === 'GET') return ok(item);
      if (m === 'PATCH') {
        const body = parseBody(UpdateWorkItemBody(), bodyText);
        return this.write(r, org, dryRun, () => ({ action: 'update_work_item', target: { id: item.id, key: item.key }, changes: diff(item, body) }), () => {
          Object.assign(item, body, { updatedAt: new Date().toISOString() });
          return { status: 200, body: item };
        });
      }
    }
    if ((id = captured(/^\/work-items\/([^/]+)\/comments$/, rest)) && m === 'POST') {
      const item = this.find(this.records.workItems, org, id);
      const body = parseBody(CommentBody(), bodyText);
      return this.write(r, org, dryRun, () => ({ action: 'add_comment', target: { id: item.id, key: item.key, title: item.title }, comment: body.body }), () => {
        const c = { id: this.nextId('cmt'), organizationId: org.id, workItemId: item.id, body: body.body, authorId: auth.userId, createdAt: new Date().toISOString() };
        this.comments.push(c);
        return { status: 201, body: c };
      });
    }
    if (rest === '/work-items' && m === 'POST') {
      const body = parseBody(CreateWorkItemBody(), bodyText);
      this.checkRefs(org, body);
      return this.write(r, org, dryRun, () => ({ action: 'create_work_item', create: [{ type: body.type, title: body.title }] }), () => ({
        status: 201,
        body: this.newWorkItem(org, body),
      }));
    }
    if ((id = captured(/^\/releases\/([^/]+)$/, rest)) && m === 'GET') return ok(this.find(this.records.releases, org, id));
    if ((id = captured(/^\/release-certifications\/([^/]+)$/, rest)) && m === 'GET')
      return ok(this.find(this.records.certifications, org, id));
    if ((id = captured(/^\/release-certifications\/([^/]+)\/evidence-graph$/, rest)) && m === 'GET') {
      const certificationId = decodeURIComponent(id);
      const g = this.records.evidenceGraphs.find((x) => x.certificationId === certificationId && x.organizationId === org.id);
      if (!g) throw new HttpProblem(404, 'not_found', 'No such certification.');
      return ok(g);
    }
    if ((id = captured(/^\/incidents\/([^/]+)$/, rest)) && m === 'GET') return ok(this.find(this.records.incidents, org, id));
    if ((id = captured(/^\/service-requests\/([^/]+)$/, rest)) && m === 'GET') return ok(this.find(this.records.serviceRequests, org, id));
    if (rest === '/service-requests' && m === 'POST') {
      const body = parseBody(CreateServiceRequestBody(), bodyText);
      return this.write(r, org, dryRun, () => ({ action: 'create_service_request', create: [{ title: body.title, category: body.category }] }), () => {
        const sr = {
          id: this.nextId('sr'),
          organizationId: org.id,
          key: `SR-${org.slug.slice(0, 3).toUpperCase()}-${this.seq}`,
          title: body.title,
          description: body.description ?? null,
          category: body.category,
          priority: body.priority ?? 'medium',
          status: 'open',
          requesterId: auth.userId,
          assigneeId: body.assigneeId ?? null,
          teamId: body.teamId ?? null,
          dueDate: body.dueDate ?? null,
        };
        this.records.serviceRequests.push(sr);
        return { status: 201, body: sr };
      });
    }
    if (rest === '/remediation-work-packages' && m === 'POST') {
      const body = parseBody(RemediationWorkPackageBody(), bodyText);
      if (body.certificationId) this.find(this.records.certifications, org, body.certificationId);
      if (body.releaseId) this.find(this.records.releases, org, body.releaseId);
      return this.write(
        r,
        org,
        dryRun,
        () => ({
          action: 'create_remediation_work_package',
          create: [{ type: 'story', title: body.parent.title }, ...body.tasks.map((t) => ({ type: 'task', title: t.title, parent: body.parent.title }))],
          references: body.references,
        }),
        () => {
          const parent = this.newWorkItem(org, { type: 'story', title: body.parent.title, description: body.parent.description, releaseId: body.releaseId, teamId: body.teamId });
          const tasks = body.tasks.map((t) =>
            this.newWorkItem(org, { type: 'task', title: t.title, description: t.description, assigneeId: t.assigneeId, parentId: parent.id as string, releaseId: body.releaseId, teamId: body.teamId }),
          );
          return { status: 201, body: { parent, tasks, auditId: this.nextId('aud') } };
        },
      );
    }
    throw new HttpProblem(404, 'not_found', `No route ${m} ${p}.`);
  }

  // ---------------------------------------------------------------- auth & orgs

  private authenticate(header: string | undefined): TokenRecord {
    const token = /^Bearer (.+)$/.exec(header ?? '')?.[1];
    const rec = token ? this.tokens.get(token) : undefined;
    const demo = token !== undefined && (Object.values(SANDBOX_TOKENS) as string[]).includes(token);
    // A demo token revoked by `logout` or `rotate` says how to get it back.
    const restore = demo ? ' This sandbox demo token was revoked by logout or rotate; restart the sandbox to restore the demo tokens' : '';
    if (!rec || rec.revoked) throw new HttpProblem(401, 'unauthenticated', `The token is not valid.${restore}`);
    const now = Date.now();
    if (rec.graceUntil !== undefined && now > rec.graceUntil) throw new HttpProblem(401, 'unauthenticated', `The token was rotated and its grace period ended.${restore}`);
    if (rec.expiresAt && Date.parse(rec.expiresAt) <= now) throw new HttpProblem(401, 'token_expired', 'The token has expired.');
    return rec;
  }

  private me(auth: TokenRecord) {
    const user = this.users.find((u) => u.id === auth.userId);
    if (!user) throw new Error(`sandbox: token ${auth.id} belongs to no user`);
    return {
      user,
      token: { id: auth.id, name: auth.name, expiresAt: auth.expiresAt, scopes: auth.scopes },
      organizations: this.orgs.flatMap((o) => {
        const role = o.members[auth.userId];
        return role ? [{ id: o.id, slug: o.slug, name: o.name, role, mcpEnabled: o.mcpEnabled }] : [];
      }),
    };
  }

  private orgFor(auth: TokenRecord, header: string | undefined): SandboxOrg {
    if (!header) throw new HttpProblem(400, 'validation_failed', 'The LoopIQ-Organization header is required.');
    const org = this.orgs.find((o) => o.id === header);
    if (!org || !org.members[auth.userId]) throw new HttpProblem(403, 'org_access_denied', `You are not a member of organization ${header}.`);
    if (!org.mcpEnabled) throw new HttpProblem(403, 'mcp_disabled', `MCP is disabled for organization ${org.name}.`);
    return org;
  }

  private rotate(auth: TokenRecord) {
    const token = this.issueToken(auth.userId, { name: auth.name, scopes: auth.scopes });
    const fresh = this.tokens.get(token);
    if (!fresh) throw new Error('sandbox: the rotated token was not stored');
    fresh.predecessorId = auth.id;
    auth.graceUntil = Date.now() + this.options.rotationGraceMs;
    return { token, id: fresh.id, expiresAt: fresh.expiresAt, previous: { id: auth.id, expiresAt: new Date(auth.graceUntil).toISOString() } };
  }

  private revoke(auth: TokenRecord, tokenId: string) {
    const target = [...this.tokens.values()].find((t) => t.id === tokenId);
    if (!target || (target !== auth && auth.predecessorId !== tokenId)) throw new HttpProblem(404, 'not_found', 'No such token.');
    target.revoked = true;
  }

  // ---------------------------------------------------------------- records

  private list(all: Rec[], org: SandboxOrg, q: URLSearchParams, filters: string[]) {
    let items = all.filter((x) => x.organizationId === org.id);
    for (const f of filters) {
      const v = q.get(f);
      if (v) items = items.filter((x) => x[f] === v);
    }
    const text = q.get('q')?.toLowerCase();
    if (text) items = items.filter((x) => `${fieldText(x.title)} ${fieldText(x.description)}`.toLowerCase().includes(text));
    return this.paginate(items, q);
  }

  private search(org: SandboxOrg, q: URLSearchParams) {
    const text = (q.get('q') ?? '').toLowerCase();
    const words = searchWords(text);
    if (!words.length) throw new HttpProblem(422, 'validation_failed', 'q is required.', [{ path: 'q', message: 'required' }]);
    const types = q.get('types')?.split(',') ?? [...SEARCH_TYPES];
    for (const t of types) if (!(SEARCH_TYPES as readonly string[]).includes(t)) throw new HttpProblem(422, 'validation_failed', `Unknown type ${t}.`, [{ path: 'types', message: `unknown type ${t}` }]);
    const sources: [string, Rec[]][] = [
      ['work_item', this.records.workItems],
      ['release', this.records.releases],
      ['release_certification', this.records.certifications],
      ['evidence', this.records.evidence],
      ['incident', this.records.incidents],
      ['service_request', this.records.serviceRequests],
    ];
    const hits: Rec[] = [];
    for (const [type, recs] of sources) {
      if (!types.includes(type)) continue;
      for (const x of recs) {
        if (x.organizationId !== org.id) continue;
        const title = fieldText(x.title ?? x.name ?? x.id);
        // Every word of the query, anywhere in the record (its controls, blockers, findings too):
        // "access review" finds "Remediate failed access-review control".
        const hay = ` ${searchWords(allText(x)).join(' ')} `;
        if (!words.every((w) => hay.includes(` ${w}`))) continue;
        hits.push({ type, id: x.id, title, snippet: fieldText(x.description ?? x.summary ?? title).slice(0, 160), organizationId: org.id, updatedAt: fieldText(x.updatedAt ?? x.startedAt ?? '2026-10-01T00:00:00.000Z'), url: fieldText(x.url ?? `${this.baseUrl}/${org.slug}/${type}/${fieldText(x.id)}`) });
      }
    }
    return this.paginate(hits, q);
  }

  private paginate(items: Rec[], q: URLSearchParams) {
    const limitRaw = q.get('limit') ?? '25';
    const limit = Number(limitRaw);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw new HttpProblem(422, 'validation_failed', 'limit must be 1..100.', [{ path: 'limit', message: 'must be an integer from 1 to 100' }]);
    let offset = 0;
    const cursor = q.get('cursor');
    if (cursor) {
      const decoded = Number(Buffer.from(cursor, 'base64url').toString('utf8').replace(/^o:/, ''));
      if (!Number.isInteger(decoded) || decoded < 0) throw new HttpProblem(422, 'validation_failed', 'Invalid cursor.', [{ path: 'cursor', message: 'not a cursor from this API' }]);
      offset = decoded;
    }
    const slice = items.slice(offset, offset + limit);
    const [first] = slice;
    if (this.options.leakForeignRecords && first) {
      const foreign = { ...first, id: `${fieldText(first.id)}_foreign`, organizationId: 'org_initech', title: 'FOREIGN RECORD: must never be shown' };
      slice.push(foreign);
    }
    const next = offset + limit < items.length ? Buffer.from(`o:${offset + limit}`).toString('base64url') : null;
    return { items: slice, nextCursor: next };
  }

  private find(all: Rec[], org: SandboxOrg, rawId: string): Rec {
    const id = decodeURIComponent(rawId);
    const rec = all.find((x) => x.id === id && x.organizationId === org.id);
    if (!rec) throw new HttpProblem(404, 'not_found', `No record ${id} in ${org.name}.`);
    return rec;
  }

  private checkRefs(org: SandboxOrg, body: { parentId?: string | undefined; releaseId?: string | undefined }) {
    const errors: { path: string; message: string }[] = [];
    if (body.parentId && !this.records.workItems.some((x) => x.id === body.parentId && x.organizationId === org.id)) errors.push({ path: 'parentId', message: 'no such work item in this organization' });
    if (body.releaseId && !this.records.releases.some((x) => x.id === body.releaseId && x.organizationId === org.id)) errors.push({ path: 'releaseId', message: 'no such release in this organization' });
    if (errors.length) throw new HttpProblem(422, 'validation_failed', 'Some references do not exist.', errors);
  }

  private newWorkItem(org: SandboxOrg, body: z.infer<ReturnType<typeof CreateWorkItemBody>> | Rec): Rec {
    const n = ++this.seq;
    const now = new Date().toISOString();
    const key = `${org.slug.slice(0, 3).toUpperCase()}-${n}`;
    const item = {
      id: `wi_${org.slug}_${n}`,
      organizationId: org.id,
      key,
      type: body.type,
      title: body.title,
      description: body.description ?? null,
      status: 'todo',
      priority: body.priority ?? 'medium',
      assigneeId: body.assigneeId ?? null,
      teamId: body.teamId ?? null,
      releaseId: body.releaseId ?? null,
      parentId: body.parentId ?? null,
      labels: body.labels ?? [],
      createdAt: now,
      updatedAt: now,
      url: `${this.baseUrl}/${org.slug}/work-items/${key}`,
    };
    this.records.workItems.push(item);
    return item;
  }

  /** Dry run → preview; otherwise apply once per Idempotency-Key and replay on reuse. */
  private write(r: RecordedRequest, org: SandboxOrg, dryRun: boolean, preview: () => Rec, apply: () => { status: number; body: unknown }) {
    if (dryRun) return ok({ dryRun: true, preview: { organizationId: org.id, organizationName: org.name, ...preview() } });
    const key = r.headers[HEADERS.idempotencyKey];
    if (!key) throw new HttpProblem(422, 'validation_failed', 'Idempotency-Key is required on writes.', [{ path: 'Idempotency-Key', message: 'required' }]);
    const fingerprint = createHash('sha256').update(`${org.id}\n${r.method}\n${r.path}\n${r.body}`).digest('hex');
    const seen = this.idempotency.get(key);
    if (seen) {
      if (seen.fingerprint !== fingerprint) throw new HttpProblem(409, 'idempotency_key_reused', 'This Idempotency-Key was used for a different request.');
      return { status: seen.status, body: seen.body };
    }
    const result = apply();
    this.idempotency.set(key, { fingerprint, ...result });
    return result;
  }

  private nextId(prefix: string) {
    return `${prefix}_${++this.seq}`;
  }
}

class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly code: ProblemCode,
    message: string,
    readonly errors?: { path: string; message: string }[],
  ) {
    super(message);
  }
}

function ok(body: unknown) {
  return { status: 200, body };
}

function problem(status: number, code: ProblemCode, detail: string, requestId: string, errors?: { path: string; message: string }[]) {
  return { type: `https://errors.loopiq.invalid/${code}`, title: code.replace(/_/g, ' '), status, detail, code, requestId, ...(errors ? { errors } : {}) };
}

function parseBody<T extends z.ZodType>(schema: T, text: string): z.infer<T> {
  let raw: unknown;
  try {
    raw = JSON.parse(text || 'null');
  } catch {
    throw new HttpProblem(400, 'validation_failed', 'The body is not JSON.');
  }
  const r = schema.safeParse(raw);
  if (!r.success) {
    throw new HttpProblem(422, 'validation_failed', 'The request body is invalid.', r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })));
  }
  return r.data;
}

function diff(before: Rec, changes: Rec) {
  return Object.fromEntries(Object.entries(changes).map(([k, v]) => [k, { from: before[k] ?? null, to: v }]));
}

/** Lower-case words (letters and digits), so punctuation and hyphens never decide a match. */
export function searchWords(text: string): string[] {
  return text.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter(Boolean);
}

/** A record field as text: strings and numbers as they are, anything else (absent, null) as ''. */
function fieldText(value: unknown): string {
  return typeof value === 'string' || typeof value === 'number' ? String(value) : '';
}

/** The route's one captured path segment, or undefined when the path is not that route. */
function captured(route: RegExp, path: string): string | undefined {
  return route.exec(path)?.[1];
}

function allText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map(allText).join(' ');
  if (value && typeof value === 'object') return Object.values(value).map(allText).join(' ');
  return '';
}

export interface RunningSandbox {
  url: string;
  fake: FakeLoopIq;
  /** The hosted-style MCP endpoint at `${url}/mcp`. */
  mcp: SandboxMcpEndpoint;
  /** TCP connections accepted so far. */
  connections(): number;
  close(): Promise<void>;
}

/** Serve a fake on 127.0.0.1 (port 0 = any free port). */
export async function startSandbox(options: SandboxOptions & { port?: number; fake?: FakeLoopIq } = {}): Promise<RunningSandbox> {
  const fake = options.fake ?? new FakeLoopIq(options);
  const sockets = new Set<Socket>();
  let accepted = 0;
  const mcp = new SandboxMcpEndpoint(fake);
  const server: Server = createServer((req, res) => {
    const handler = /^\/mcp(\/|\?|$)/.test(req.url ?? '') ? mcp.handle(req, res) : fake.handle(req, res);
    handler.catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500).end(String(err));
    });
  });
  server.on('connection', (s: Socket) => {
    accepted++;
    sockets.add(s);
    s.on('close', () => {
      sockets.delete(s);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  fake.baseUrl = url;
  return {
    url,
    fake,
    mcp,
    connections: () => accepted,
    close: () =>
      new Promise<void>((resolve) => {
        void mcp.close();
        for (const s of sockets) s.destroy();
        server.close(() => {
          resolve();
        });
      }),
  };
}

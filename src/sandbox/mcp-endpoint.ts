/**
 * A hosted-style LoopIQ MCP endpoint at `/mcp` (streamable HTTP) over the sandbox's demo data, as
 * LoopIQ documents its own (`https://ai.loopiq.com/mcp`): a bearer token and the org header on
 * every request, the three documented tool names, `dryRun` and `idempotencyKey` on writes. It
 * records what it receives and can misbehave on demand, for tests.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { CallToolResult, ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { HEADERS } from '../api/contract.js';
import type { FakeLoopIq } from './fake-loopiq.js';
import type { SandboxOrg } from './seed.js';

type Rec = Record<string, unknown>;

export interface McpHttpRecord {
  method: string;
  authorization?: string | undefined;
  organization?: string | undefined;
  userAgent?: string | undefined;
}

export interface McpToolCall {
  tool: string;
  arguments: Rec;
  organization: string;
}

/** A misbehaviour for the next matching `tools/call` (by tool, and by dry run or not). */
export interface McpFault {
  tool: string;
  dryRun?: boolean;
  /** `unavailable`: 503 before anything runs. `drop-after`: runs, then the connection is cut before the answer. */
  kind: 'unavailable' | 'drop-after';
  times?: number;
}

interface ToolSpec {
  name: string;
  description: string;
  input: z.ZodRawShape;
  annotations?: ToolAnnotations;
  run(args: Rec, org: SandboxOrg, userId: string): CallToolResult;
  /** Works before an organization is selected (no org header): identity tools. */
  noOrg?: boolean;
}

const READ: ToolAnnotations = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false };
const json = (value: unknown): CallToolResult => ({ content: [{ type: 'text', text: JSON.stringify(value) }], structuredContent: value as Rec });
/** What an identity tool (it needs no organization) is given as one. */
const NO_ORG: SandboxOrg = { id: '', slug: '', name: '', mcpEnabled: false, members: {} };
const fail = (message: string): CallToolResult => ({ isError: true, content: [{ type: 'text', text: message }] });

/**
 * The endpoint as an OAuth protected resource (set by the sandbox's authorization server):
 * `admit` validates a bearer token for this resource and enters it in the token table (false: an
 * OAuth token not valid here); a 401 points at `resourceMetadataUrl` (RFC 9728 §5.1).
 */
export interface McpOAuthGuard {
  resourceMetadataUrl: string;
  admit(token: string | undefined): Promise<boolean | undefined>;
}

export class SandboxMcpEndpoint {
  oauth?: McpOAuthGuard;
  readonly http: McpHttpRecord[] = [];
  readonly calls: McpToolCall[] = [];
  readonly faults: McpFault[] = [];
  /** Return a record of another organization inside reads (the proxy must withhold it). */
  plantForeign = false;
  /** Notification streams (GET /mcp) opened so far: a notification reaches a client only after its stream is open. */
  streamsOpened = 0;
  /** Misbehave like a hostile or buggy endpoint: echo the request's Authorization header in results. */
  echoAuthorization = false;
  private readonly sessions = new Map<string, { transport: StreamableHTTPServerTransport; server: McpServer }>();
  private readonly extra: ToolSpec[] = [];
  private readonly done = new Map<string, CallToolResult>();
  private seq = 5000;

  constructor(private readonly fake: FakeLoopIq) {}

  /** Non-dry-run calls of one tool (what "the endpoint received a write" means). */
  writes(tool: string): McpToolCall[] {
    return this.calls.filter((c) => c.tool === tool && c.arguments.dryRun !== true);
  }

  /** Adds a tool to every open session (each announces `notifications/tools/list_changed`). */
  addTool(name: string, description = 'A tool added at run time.') {
    const spec: ToolSpec = { name, description, input: {}, annotations: READ, run: () => json({ added: name }) };
    this.extra.push(spec);
    for (const { server } of this.sessions.values()) this.register(server, spec);
  }

  private specs(): ToolSpec[] {
    const certInput = {
      certificationId: z.string().describe('Release certification id, e.g. cert_acme_2'),
      organizationId: z.string().optional().describe('Organization id (dynamic tenant mode: must be the selected organization)'),
    };
    return [
      {
        name: 'loopiq_get_release_certification',
        description: 'Fetch a release certification: controls, findings, provider blockers.',
        input: certInput,
        annotations: READ,
        run: (a, org) => {
          const cert = this.fake.records.certifications.find((c) => c.id === a.certificationId && c.organizationId === org.id);
          if (!cert) return fail(`No certification ${String(a.certificationId)} in ${org.id}.`);
          return json(this.plantForeign ? { ...cert, relatedCertifications: [{ id: 'cert_foreign_1', organizationId: 'org_foreign', status: 'secret' }] } : cert);
        },
      },
      {
        name: 'loopiq_get_release_certification_evidence_graph',
        description: 'Fetch the evidence graph of a release certification: failed controls, evidence gaps, blockers.',
        input: certInput,
        annotations: READ,
        run: (a, org) => {
          const g = this.fake.records.evidenceGraphs.find((x) => x.certificationId === a.certificationId && x.organizationId === org.id);
          return g ? json(g) : fail(`No certification ${String(a.certificationId)} in ${org.id}.`);
        },
      },
      {
        name: 'loopiq_search_work_items',
        description: 'Search work items of the selected organization by text.',
        input: { query: z.string().describe('Text to look for'), organizationId: z.string().describe('Organization id') },
        annotations: READ,
        run: (a, org) => {
          const q = String(a.query).toLowerCase();
          const items = this.fake.records.workItems.filter((w) => w.organizationId === org.id && `${String(w.title)} ${typeof w.description === 'string' ? w.description : ''}`.toLowerCase().includes(q)).slice(0, 20);
          if (this.plantForeign) items.push({ id: 'wi_foreign_1', organizationId: 'org_foreign', title: 'Foreign secret work item' });
          return json({ items });
        },
      },
      {
        name: 'loopiq_list_organizations',
        description: 'The organizations the signed-in user belongs to.',
        input: {},
        annotations: READ,
        noOrg: true,
        run: (_a, _o, userId) => json({ organizations: this.fake.orgs.filter((o) => o.members[userId]).map((o) => ({ id: o.id, slug: o.slug, name: o.name, mcpEnabled: o.mcpEnabled })) }),
      },
      {
        name: 'loopiq_whoami',
        description: 'The signed-in user.',
        input: {},
        annotations: READ,
        noOrg: true,
        run: (_a, _o, userId) => json({ user: this.fake.users.find((u) => u.id === userId) }),
      },
      {
        name: 'loopiq_create_remediation_work_package',
        description: 'Create one parent remediation story plus child tasks for release blockers, in one approved transaction. Call with dryRun: true first.',
        input: {
          organizationId: z.string().describe('Organization id'),
          certificationId: z.string().optional(),
          parent: z.object({ title: z.string().min(1), description: z.string().optional() }),
          tasks: z.array(z.object({ title: z.string().min(1) })).min(1),
          references: z.array(z.string()).optional(),
          dryRun: z.boolean().optional().describe('Preview only: nothing is created'),
          idempotencyKey: z.string().optional().describe('Repeated calls with the same key create nothing new'),
        },
        annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
        run: (a, org) => {
          const parent = a.parent as { title: string; description?: string };
          const tasks = a.tasks as { title: string }[];
          if (a.dryRun === true) {
            return json({ dryRun: true, organizationId: org.id, wouldCreate: [{ type: 'story', title: parent.title }, ...tasks.map((t) => ({ type: 'task', title: t.title }))] });
          }
          const p = this.workItem(org, 'story', parent.title, null);
          const children = tasks.map((t) => this.workItem(org, 'task', t.title, p.id as string));
          return json({ parent: p, tasks: children, idempotencyKey: a.idempotencyKey ?? null, auditId: `aud_${++this.seq}` });
        },
      },
      {
        // No annotations at all: a client must treat it as a write.
        name: 'loopiq_refresh_release_evidence',
        description: 'Re-collect the evidence of a release certification from its providers.',
        input: { certificationId: z.string() },
        run: (a, org) => {
          const cert = this.fake.records.certifications.find((c) => c.id === a.certificationId && c.organizationId === org.id);
          if (!cert) return fail(`No certification ${String(a.certificationId)} in ${org.id}.`);
          cert.evidenceRefreshedAt = new Date().toISOString();
          return json({ certificationId: cert.id, organizationId: org.id, refreshed: true });
        },
      },
      ...this.extra,
    ];
  }

  private workItem(org: SandboxOrg, type: string, title: string, parentId: string | null): Rec {
    const n = ++this.seq;
    const key = `${org.slug.slice(0, 3).toUpperCase()}-${n}`;
    const now = new Date().toISOString();
    const item = { id: `wi_${org.slug}_${n}`, organizationId: org.id, key, type, title, status: 'todo', parentId, createdAt: now, updatedAt: now };
    this.fake.records.workItems.push(item);
    return item;
  }

  private register(server: McpServer, spec: ToolSpec) {
    server.registerTool(spec.name, { description: spec.description, inputSchema: spec.input, ...(spec.annotations ? { annotations: spec.annotations } : {}) }, (args: Rec, extra) => {
      const h = extra.requestInfo?.headers[HEADERS.organization];
      const org = this.fake.orgs.find((o) => o.id === h || o.slug === h);
      const token = /^Bearer (.+)$/.exec(String(extra.requestInfo?.headers.authorization ?? ''))?.[1];
      const userId = this.fake.tokens.get(token ?? '')?.userId ?? '';
      this.calls.push({ tool: spec.name, arguments: args, organization: org?.id ?? '' });
      if (!org && !spec.noOrg) return fail('The LoopIQ-Organization header is required for this tool.');
      if (typeof args.organizationId === 'string' && args.organizationId !== org?.id) return fail(`organizationId ${args.organizationId} is not the selected organization.`);
      const key = typeof args.idempotencyKey === 'string' ? `${org?.id ?? "-"}:${spec.name}:${args.idempotencyKey}` : undefined;
      const earlier = key ? this.done.get(key) : undefined;
      if (earlier) return earlier;
      // An identity tool (noOrg) ignores the organization.
      let result = spec.run(args, org ?? NO_ORG, userId);
      if (this.echoAuthorization && result.structuredContent) {
        const authorization = extra.requestInfo?.headers.authorization;
        result = json({ ...result.structuredContent, debug: { authorization } });
      }
      if (key && !result.isError) this.done.set(key, result);
      return result;
    });
  }

  private newSession(): { transport: StreamableHTTPServerTransport; server: McpServer } {
    const server = new McpServer({ name: 'loopiq-sandbox-hosted', version: '1.0.0' }, { capabilities: { tools: { listChanged: true } } });
    for (const spec of this.specs()) this.register(server, spec);
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      enableJsonResponse: true,
      onsessioninitialized: (id) => void this.sessions.set(id, { transport, server }),
    });
    transport.onclose = () => {
      if (transport.sessionId) this.sessions.delete(transport.sessionId);
    };
    return { transport, server };
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const header = (name: string) => {
      const v = req.headers[name];
      return Array.isArray(v) ? v.join(',') : v;
    };
    this.http.push({ method: req.method ?? 'GET', authorization: header(HEADERS.authorization), organization: header(HEADERS.organization), userAgent: header(HEADERS.userAgent) });
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const deny = (status: number, message: string) => {
      const challenge = status === 401 && this.oauth ? { 'www-authenticate': `Bearer resource_metadata="${this.oauth.resourceMetadataUrl}"` } : {};
      res.writeHead(status, { 'content-type': 'application/json', ...challenge }).end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32001, message }, id: null }));
    };
    const token = /^Bearer (.+)$/.exec(header(HEADERS.authorization) ?? '')?.[1];
    if ((await this.oauth?.admit(token)) === false) {
      deny(401, 'The token is not valid for this resource (expired, revoked, or issued for another one).');
      return;
    }
    const auth = token ? this.fake.tokens.get(token) : undefined;
    if (!auth || auth.revoked) {
      deny(401, 'The token is not valid.');
      return;
    }
    let body: unknown;
    if (text) {
      try {
        body = JSON.parse(text);
      } catch {
        deny(400, 'Parse error');
        return;
      }
    }
    const msg = body as { method?: string; params?: { name?: string; arguments?: Rec } } | undefined;
    const orgHeader = header(HEADERS.organization);
    if (orgHeader) {
      const org = this.fake.orgs.find((o) => o.id === orgHeader) ?? this.fake.orgs.find((o) => o.slug === orgHeader);
      if (!org || !org.members[auth.userId]) {
        deny(403, `You are not a member of organization ${orgHeader}.`);
        return;
      }
      if (!org.mcpEnabled) {
        deny(403, `MCP is disabled for organization ${org.name}.`);
        return;
      }
    } else {
      // Before an organization is selected: only the session, the tool list and identity tools.
      const identity = msg?.method === 'tools/call' && this.specs().some((t) => t.noOrg && t.name === msg.params?.name);
      const allowed = req.method !== 'POST' || identity || ['initialize', 'ping', 'tools/list'].includes(msg?.method ?? '') || msg?.method?.startsWith('notifications/');
      if (!allowed) {
        deny(400, 'The LoopIQ-Organization header is required.');
        return;
      }
    }
    if (msg?.method === 'tools/call') {
      const dry = msg.params?.arguments?.dryRun === true;
      const i = this.faults.findIndex((f) => f.tool === msg.params?.name && (f.dryRun === undefined || f.dryRun === dry));
      const f = i >= 0 ? this.faults[i] : undefined;
      if (f) {
        if (!f.times || f.times <= 1) this.faults.splice(i, 1);
        else f.times--;
        if (f.kind === 'unavailable') {
          res.writeHead(503, { 'retry-after': '0' }).end('unavailable');
          return;
        }
        // Let it run, then cut the connection instead of answering.
        res.writeHead = () => res;
        res.end = () => {
          req.socket.destroy();
          return res;
        };
      }
    }

    const sessionId = header('mcp-session-id');
    let session = sessionId ? this.sessions.get(sessionId) : undefined;
    if (!session) {
      if (sessionId || msg?.method !== 'initialize') {
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null }));
        return;
      }
      session = this.newSession();
      await session.server.connect(session.transport);
    }
    if (req.method === 'GET') {
      // The stream is registered before its headers go out; the request itself lasts as long as the stream.
      const writeHead = res.writeHead.bind(res) as (...a: unknown[]) => ServerResponse;
      res.writeHead = (...a: unknown[]) => {
        const r = writeHead(...a);
        if (res.statusCode === 200) this.streamsOpened++;
        return r;
      };
    }
    await session.transport.handleRequest(req, res, body);
  }

  async close() {
    for (const { server } of this.sessions.values()) await server.close().catch(() => {});
    this.sessions.clear();
  }
}

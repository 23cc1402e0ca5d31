import { http, HttpResponse } from 'msw';
import { afterEach, describe, expect, it } from 'vitest';
import { startMockApi } from '../../test/support/mock-api.js';
import { StaticTokenSource, type TokenSource } from '../auth/token-source.js';
import { ApiClient } from './client.js';
import { json, startHostileApi, workItem } from '../../test/support/hostile-api.js';
import { redact } from '../util/redact.js';
import { api, DryRun } from './contract.js';
import { LoopIqError } from './errors.js';

const me = {
  user: { id: 'u1', email: 'a@example.com', name: 'A' },
  token: { id: 't1', name: 'cli', expiresAt: null, scopes: ['read'] },
  organizations: [{ id: 'o1', slug: 'one', name: 'One', role: 'admin', mcpEnabled: true }],
};
const problem = (status: number, code: string, extra: object = {}) =>
  HttpResponse.json({ type: 'about:blank', title: code, status, code, detail: `it is ${code}`, requestId: 'srv-1', ...extra }, {
    status,
    headers: { 'content-type': 'application/problem+json' },
  });

let stop: (() => Promise<void>) | undefined;
afterEach(async () => {
  await stop?.();
  stop = undefined;
});

async function clientFor(handlers: Parameters<typeof startMockApi>, opts: { tokens?: TokenSource; readOnly?: boolean } = {}) {
  const srv = await startMockApi(...handlers);
  stop = srv.close;
  return new ApiClient({
    baseUrl: srv.url,
    tokens: opts.tokens ?? new StaticTokenSource('env', 'tok-abc'),
    userAgent: () => 'loopiq-mcp/test (client/1; node; linux)',
    readOnly: opts.readOnly ?? false,
    retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 5 },
  });
}

describe('ApiClient against a real HTTP port', () => {
  it('sends auth, user agent, request id, traceparent and the pinned org', async () => {
    let seen: Headers | undefined;
    const c = await clientFor([
      http.get('/api/v1/work-items', ({ request }) => {
        seen = request.headers;
        return HttpResponse.json({ items: [], nextCursor: null });
      }),
    ]);
    await c.call(api.listWorkItems({ limit: 5 }), { org: 'o1', requestId: 'req-42' });
    expect(seen?.get('authorization')).toBe('Bearer tok-abc');
    expect(seen?.get('user-agent')).toBe('loopiq-mcp/test (client/1; node; linux)');
    expect(seen?.get('x-request-id')).toBe('req-42');
    expect(seen?.get('traceparent')).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(seen?.get('loopiq-organization')).toBe('o1');
  });

  it('does not send the org header on user-scoped calls', async () => {
    let org: string | null = 'unset';
    const c = await clientFor([http.get('/api/v1/me', ({ request }) => ((org = request.headers.get('loopiq-organization')), HttpResponse.json(me)))]);
    await c.call(api.me());
    expect(org).toBeNull();
  });

  it('maps problem+json to a typed error that says what to do', async () => {
    const c = await clientFor([http.get('/api/v1/releases', () => problem(403, 'org_access_denied'))]);
    const err = await c.call(api.listReleases({}), { org: 'o1' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LoopIqError);
    expect(err).toMatchObject({ code: 'org_access_denied', extra: { status: 403, requestId: 'srv-1' } });
    expect((err as LoopIqError).describe()).toContain('loopiq-mcp use-org');
  });

  it('lists field errors of a 422', async () => {
    const c = await clientFor([
      http.get('/api/v1/search', () => problem(422, 'validation_failed', { errors: [{ path: 'q', message: 'required' }] })),
    ]);
    const err = (await c.call(api.search({ q: '' }), { org: 'o1' }).catch((e: unknown) => e)) as LoopIqError;
    expect(err.describe()).toMatch(/q: required/);
  });

  it('rejects a malformed response naming the field, without crashing', async () => {
    const c = await clientFor([http.get('/api/v1/me', () => HttpResponse.json({ ...me, user: { id: 5 } }))]);
    const err = (await c.call(api.me()).catch((e: unknown) => e)) as LoopIqError;
    expect(err.code).toBe('bad_response');
    expect(err.message).toMatch(/user\.id/);
  });

  it('rejects a non-JSON body', async () => {
    const c = await clientFor([http.get('/api/v1/me', () => new HttpResponse('<html>login</html>', { status: 200 }))]);
    await expect(c.call(api.me())).rejects.toMatchObject({ code: 'bad_response' });
  });

  it('withholds records of another organization from pages, and refuses a foreign single record', async () => {
    const wi = (id: string, org: string) => ({ id, organizationId: org });
    const c = await clientFor([
      http.get('/api/v1/search', () => HttpResponse.json({ items: [hit('a', 'o1'), hit('b', 'o2')], nextCursor: null })),
      http.get('/api/v1/incidents/x', () => HttpResponse.json({ ...incident, ...wi('x', 'o2') })),
    ]);
    const page = await c.callWithMeta(api.search({ q: 'a' }), { org: 'o1' });
    expect(page.data.items.map((i) => i.id)).toEqual(['a']);
    expect(page.foreignDropped).toBe(1);
    await expect(c.call(api.getIncident('x'), { org: 'o1' })).rejects.toMatchObject({ code: 'foreign_record' });
  });

  it('retries a read after 503 with Retry-After, keeping the request id', async () => {
    const ids: (string | null)[] = [];
    let n = 0;
    const c = await clientFor([
      http.get('/api/v1/me', ({ request }) => {
        ids.push(request.headers.get('x-request-id'));
        return ++n === 1 ? problem(503, 'unavailable') : HttpResponse.json(me);
      }),
    ]);
    await expect(c.call(api.me())).resolves.toMatchObject({ user: { id: 'u1' } });
    expect(ids).toHaveLength(2);
    expect(ids[0]).toBe(ids[1]);
  });

  it('says when to try again after giving up on 429', async () => {
    const c = await clientFor([
      http.get('/api/v1/me', () => {
        const r = problem(429, 'rate_limited');
        r.headers.set('retry-after', '0');
        return r;
      }),
    ]);
    const err = (await c.call(api.me()).catch((e: unknown) => e)) as LoopIqError;
    expect(err.code).toBe('rate_limited');
    expect(err.describe()).toMatch(/Try again in 0 s/);
  });

  it('never retries a write without an idempotency key', async () => {
    let posts = 0;
    const c = await clientFor([http.post('/api/v1/work-items', () => (posts++, problem(503, 'unavailable')))]);
    await expect(c.call(api.createWorkItem({ type: 'task', title: 't' }), { org: 'o1' })).rejects.toMatchObject({ code: 'unavailable' });
    expect(posts).toBe(1);
  });

  it('re-reads the token once after a 401 and retries', async () => {
    let current = 'old';
    let reads = 0;
    const tokens: TokenSource = {
      kind: 'keychain',
      get: () => {
        reads++;
        return Promise.resolve(current);
      },
      reload: () => {
        current = 'new';
        reads++;
        return Promise.resolve('new');
      },
    };
    const auths: (string | null)[] = [];
    const c = await clientFor(
      [
        http.get('/api/v1/me', ({ request }) => {
          auths.push(request.headers.get('authorization'));
          return request.headers.get('authorization') === 'Bearer new' ? HttpResponse.json(me) : problem(401, 'unauthenticated');
        }),
      ],
      { tokens },
    );
    await expect(c.call(api.me())).resolves.toBeTruthy();
    expect(auths).toEqual(['Bearer old', 'Bearer new']);
    expect(reads).toBe(2);
  });

  it('in read-only mode refuses any non-GET before it reaches the network', async () => {
    let posts = 0;
    const c = await clientFor([http.post('/api/v1/work-items', () => (posts++, HttpResponse.json({})))], { readOnly: true });
    await expect(c.call(api.createWorkItem({ type: 'task', title: 't' }), { org: 'o1', idempotencyKey: 'k' })).rejects.toMatchObject({
      code: 'read_only',
    });
    expect(posts).toBe(0);
  });
});

const hit = (id: string, org: string) => ({ type: 'work_item', id, title: 't', snippet: 's', organizationId: org, updatedAt: '2026-01-01', url: 'u' });
const incident = {
  key: 'INC-1',
  title: 't',
  severity: 'sev1',
  status: 'open',
  service: 's',
  startedAt: '2026-01-01',
  resolvedAt: null,
  summary: null,
  relatedWorkItemIds: [],
};

describe('ApiClient against a hostile API', () => {
  type Hostile = Awaited<ReturnType<typeof startHostileApi>>;
  let h: Hostile;
  const client = async (opts: Partial<ConstructorParameters<typeof ApiClient>[0]> = {}) => {
    h = await startHostileApi();
    stop = h.close;
    return new ApiClient({
      baseUrl: h.url,
      tokens: new StaticTokenSource('env', 'tok-hostile-123456'),
      userAgent: () => 'test',
      retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 5 },
      ...opts,
    });
  };
  const fail = (p: Promise<unknown>) => p.then(() => expect.unreachable('should have failed'), (e: unknown) => e as LoopIqError);

  it('refuses a body past the cap, declared or streamed, naming the cap, without retrying', async () => {
    const c = await client({ maxResponseBytes: 1000 });
    h.on('GET /api/v1/work-items', (_req, res) => { json(res, 200, { items: [], nextCursor: 'x'.repeat(2000) }); });
    h.on('GET /api/v1/incidents', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }); // chunked: no content-length
      res.write('{"items":[],"nextCursor":"');
      res.write('y'.repeat(600));
      setTimeout(() => res.end(`${'y'.repeat(600)}"}`), 20);
    });
    for (const call of [() => c.call(api.listWorkItems({}), { org: 'org_h' }), () => c.call(api.listIncidents({}), { org: 'org_h' })]) {
      const e = await fail(call());
      expect(e.code).toBe('response_too_large');
      expect(e.message).toMatch(/is larger than the 1000 bytes cap; it was refused unread\.$/);
    }
    expect(h.requests.filter((r) => r.path !== '/api/v1/me')).toHaveLength(2);
    const big = await client();
    h.on('GET /api/v1/work-items', (_req, res) => { json(res, 200, { items: [], nextCursor: 'x'.repeat(5 * 1024 * 1024) }); });
    expect((await fail(big.call(api.listWorkItems({}), { org: 'org_h' }))).message).toMatch(/larger than the 4 MiB cap/);
  });

  it('one deadline per attempt covers the body: a drip ends there, is not retried (it would only wait longer), and the call says so', async () => {
    const c = await client({ timeoutMs: 300 });
    h.on('GET /api/v1/evidence', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{');
      const t = setInterval(() => res.write(' '), 50); // never idle long enough for an idle timeout
      res.on('close', () => { clearInterval(t); });
    });
    const e = await fail(c.call(api.listEvidence({}), { org: 'org_h' }));
    expect(e.code).toBe('timeout');
    expect(e.message).toBe('LoopIQ began answering GET /api/v1/evidence but did not send its whole answer within 300 ms.');
    expect(h.requests).toHaveLength(1);
  });

  it('a server that does not answer at all is tried again, each attempt within the deadline', async () => {
    const c = await client({ timeoutMs: 200 });
    h.on('GET /api/v1/evidence', () => {}); // headers never come
    const e = await fail(c.call(api.listEvidence({}), { org: 'org_h' }));
    expect(e.message).toBe('LoopIQ did not answer GET /api/v1/evidence within 200 ms.');
    expect(h.requests).toHaveLength(3);
  });

  it('takes the per-attempt deadline from LOOPIQ_REQUEST_TIMEOUT_MS, and ignores a malformed one', async () => {
    const c = await client({ env: { LOOPIQ_REQUEST_TIMEOUT_MS: '250' }, retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 } });
    h.on('GET /api/v1/me', () => {}); // never answers
    expect((await fail(c.call(api.me()))).message).toBe('LoopIQ did not answer GET /api/v1/me within 250 ms.');
    const d = new ApiClient({ baseUrl: h.url, tokens: new StaticTokenSource('env', 'x'), userAgent: () => 't', env: { LOOPIQ_REQUEST_TIMEOUT_MS: 'soon' } });
    expect((d as unknown as { timeoutMs: number }).timeoutMs).toBe(30_000);
  });

  it('refuses too deep, too many values and over-long pages before parsing or validating', async () => {
    const c = await client();
    h.on('GET /api/v1/releases', (_req, res) => res.end(`{"items":${'['.repeat(65)}${']'.repeat(65)},"nextCursor":null}`));
    h.on('GET /api/v1/incidents', (_req, res) => res.end(`{"items":[${Array(200_001).fill('1').join(',')}],"nextCursor":null}`));
    h.on('GET /api/v1/evidence', (_req, res) => { json(res, 200, { items: Array(101).fill({}), nextCursor: null }); });
    h.on('GET /api/v1/search', (_req, res) => res.end(`{"items":[],"nextCursor":"a\\"${'['.repeat(70)}"}`));
    expect((await fail(c.call(api.listReleases({}), { org: 'org_h' }))).message).toMatch(/nests deeper than 64 levels; it was refused unread/);
    expect((await fail(c.call(api.listIncidents({}), { org: 'org_h' }))).message).toMatch(/holds more than 200,000 values/);
    expect((await fail(c.call(api.listEvidence({}), { org: 'org_h' }))).message).toMatch(/is a page of 101 items \(the contract allows 100\)/);
    // Brackets inside strings (and escaped quotes) are text, not nesting.
    expect(await c.call(api.search({}), { org: 'org_h' })).toEqual({ items: [], nextCursor: 'a"' + '['.repeat(70) });
    expect(h.requests).toHaveLength(4); // none retried
  });

  it('registers every token it sends, and redacts them from responses and errors at the source', async () => {
    const token = 'tok-echoed-9876543210';
    const fresh = 'tok-fresh-0123456789';
    let reloaded = false;
    const tokens: TokenSource = {
      kind: 'keychain',
      get: () => Promise.resolve(token),
      reload: () => {
        reloaded = true;
        return Promise.resolve(fresh);
      },
    };
    const c = await client({ tokens });
    h.on('GET /api/v1/work-items/wi_1', (req, res) => {
      if (req.headers.authorization === `Bearer ${fresh}`) json(res, 200, workItem({ title: `${req.headers.authorization} and ${token}`, [fresh]: 1 }));
      else json(res, 401, { status: 401, code: 'unauthenticated', detail: `bad ${req.headers.authorization}` }, 'application/problem+json');
    });
    h.on('GET /api/v1/incidents/i', (_req, res) => {
      json(res, 422, { status: 422, code: 'validation_failed', title: token, detail: `${fresh}!`, requestId: fresh, errors: [{ path: token, message: fresh }] }, 'application/problem+json');
    });
    const rec = (await c.call(api.getWorkItem('wi_1'), { org: 'org_h' })) as Record<string, unknown>;
    expect(reloaded).toBe(true);
    expect(rec.title).toBe('Bearer [REDACTED] and [REDACTED]');
    expect(JSON.stringify(rec)).not.toMatch(/tok-/);
    const e = await fail(c.call(api.getIncident('i'), { org: 'org_h' }));
    expect(JSON.stringify([e.message, e.describe(), e.forModel(), e.extra])).not.toMatch(/tok-/);
    expect(e.forModel().text).toBe('LoopIQ answered 422 validation_failed.\nFix the fields listed above and try again.');
    expect(e.forModel().data).toMatchObject({ loopiqSaid: { title: '[REDACTED]', detail: '[REDACTED]!' }, fieldErrors: [{ path: '[REDACTED]', message: '[REDACTED]' }] });
    expect(redact(`x ${token} ${fresh}`)).toBe('x [REDACTED] [REDACTED]');
  });

  it('withholds records of another organization at any depth of write results and dry-run previews', async () => {
    const c = await client();
    const foreign = (id: string) => workItem({ id, organizationId: 'org_other', title: 'FOREIGN' });
    h.on('POST /api/v1/remediation-work-packages', (req, res) => {
      if (req.url.includes('dryRun=true')) json(res, 200, { dryRun: true, preview: { parent: foreign('p'), tasks: [foreign('t1'), workItem({ id: 'mine' })], deep: { a: [{ b: foreign('d') }] } } });
      else json(res, 201, { parent: workItem({ id: 'p' }), tasks: [foreign('t1'), workItem({ id: 't2' })], auditId: 'a' });
    });
    const body = { parent: { title: 'p' }, tasks: [{ title: 't' }], references: [] };
    const dry = await c.callWithMeta(api.createRemediationWorkPackage(body), { org: 'org_h', dryRun: true, response: DryRun() });
    expect(dry.foreignDropped).toBe(3);
    expect((dry.data as unknown as DryRun).preview).toEqual({ parent: { withheld: 'record of another organization' }, tasks: [workItem({ id: 'mine' })], deep: { a: [{ b: { withheld: 'record of another organization' } }] } });
    const done = await c.callWithMeta(api.createRemediationWorkPackage(body), { org: 'org_h', idempotencyKey: 'k' });
    expect(done.foreignDropped).toBe(1);
    expect(JSON.stringify(done.data)).not.toContain('FOREIGN');
    expect((done.data as { tasks: { id: string }[] }).tasks.map((t) => t.id)).toEqual(['t2']);
  });
});

describe('where a token may go', () => {
  it.each(['http://127.evil.example', 'http://127.0.0.1.nip.io', 'http://example.com', 'https://user:pw@ai.loopiq.com'])('refuses %s before any request', (url) => {
    expect(() => new ApiClient({ baseUrl: url, tokens: new StaticTokenSource('env', 'x'), userAgent: () => 't' })).toThrow(LoopIqError);
  });
  it.each(['https://ai.loopiq.com', 'http://127.0.0.1:8080', 'http://localhost:1', 'http://[::1]:2'])('accepts %s', (url) => {
    expect(new ApiClient({ baseUrl: url, tokens: new StaticTokenSource('env', 'x'), userAgent: () => 't' }).origin).toBe(new URL(url).origin);
  });
});

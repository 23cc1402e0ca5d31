import { http, HttpResponse } from 'msw';
import { afterEach, describe, expect, it } from 'vitest';
import { startMockApi } from '../../test/support/mock-api.js';
import { StaticTokenSource, type TokenSource } from '../auth/token-source.js';
import { ApiClient } from './client.js';
import { api } from './contract.js';
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
    readOnly: opts.readOnly,
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
      get: async () => (reads++, current),
      reload: async () => ((current = 'new'), reads++, 'new'),
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

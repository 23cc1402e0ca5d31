import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The org a hostile API says the user is in (and pins to); anything else is "foreign". */
export const HOSTILE_ORG = { id: 'org_h', slug: 'hostile', name: 'Hostile Org', role: 'admin', mcpEnabled: true };
export const FOREIGN_ORG = 'org_other';

export type Handler = (req: IncomingMessage & { body: string; url: string }, res: ServerResponse) => void;

export const json = (res: ServerResponse, status: number, body: unknown, type = 'application/json') => {
  res.writeHead(status, { 'content-type': type });
  res.end(JSON.stringify(body));
};

/** A contract-valid work item of `org`, with any field overridden. */
export const workItem = (over: Record<string, unknown> = {}) => ({
  id: 'wi_1',
  organizationId: HOSTILE_ORG.id,
  key: 'H-1',
  type: 'task',
  title: 'A task',
  description: null,
  status: 'todo',
  priority: 'low',
  assigneeId: null,
  teamId: null,
  releaseId: null,
  parentId: null,
  labels: [],
  createdAt: '2026-01-01T00:00:00Z',
  updatedAt: '2026-01-01T00:00:00Z',
  url: 'https://loopiq.invalid/wi_1',
  ...over,
});

/**
 * An API under the test's control on a real 127.0.0.1 port: `/me` answers by default; each test
 * sets what every other route does (`on('GET /api/v1/work-items', …)`), hostile or not. Every
 * request is recorded, with the Authorization header it carried.
 */
export async function startHostileApi() {
  const routes = new Map<string, Handler>();
  const requests: { method: string; path: string; query: string; authorization: string | undefined }[] = [];
  const open = new Set<ServerResponse>();
  routes.set('GET /api/v1/me', (_req, res) => {
    json(res, 200, {
      user: { id: 'usr_1', email: 'h@example.com', name: 'H' },
      token: { id: 'tok_1', name: 'test', expiresAt: null, scopes: ['read', 'write'] },
      organizations: [HOSTILE_ORG],
    });
  });
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      requests.push({ method: req.method ?? '', path: url.pathname, query: url.search, authorization: req.headers.authorization });
      const handler = routes.get(`${req.method} ${url.pathname}`);
      open.add(res);
      res.on('close', () => open.delete(res));
      res.on('error', () => {});
      if (handler) handler(Object.assign(req, { body, url: url.pathname + url.search }), res);
      else json(res, 404, { type: 'about:blank', status: 404, code: 'not_found', title: 'no route' }, 'application/problem+json');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    on: (route: string, handler: Handler) => void routes.set(route, handler),
    close: () =>
      new Promise<void>((r) => {
        for (const res of open) res.destroy();
        server.closeAllConnections();
        server.close(() => { r(); });
      }),
  };
}

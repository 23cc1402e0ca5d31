import { afterEach, describe, expect, it } from 'vitest';
import { connectInProcess } from '../../test/support/in-process.js';
import { SANDBOX_TOKENS } from '../sandbox/seed.js';

type Conn = Awaited<ReturnType<typeof connectInProcess>>;
let conn: Conn | undefined;
afterEach(async () => {
  await conn?.close();
  conn = undefined;
});
/** The fields these tests read from a result's structured content. */
interface Structured {
  organization: { id: string; slug: string; name: string };
  count: number;
  items: { id: string; type: string; organizationId: string }[];
  nextCursor: string | null;
  dataNote: string;
  record: Record<string, unknown>;
  organizations: { slug: string }[];
}
const sc = (r: { structuredContent?: Record<string, unknown> }) => r.structuredContent as Structured | undefined;
const open = async (o: Parameters<typeof connectInProcess>[0] = {}) => (conn = await connectInProcess({ org: 'acme', ...o }));

describe('read tools, in process against the sandbox', () => {
  it.each([
    ['loopiq_search', { query: 'release' }],
    ['loopiq_list_work_items', { status: 'todo' }],
    ['loopiq_list_releases', {}],
    ['loopiq_list_evidence', { status: 'stale' }],
    ['loopiq_list_incidents', { severity: 'sev1' }],
    ['loopiq_list_service_requests', {}],
  ])('%s returns a page of Acme records naming the org', async (name, args) => {
    const c = await open();
    const r = await c.call(name, args);
    expect(r.isError).toBeFalsy();
    expect(sc(r)?.organization).toEqual({ id: 'org_acme', slug: 'acme', name: 'Acme Corp' });
    expect(sc(r)?.count).toBeGreaterThan(0);
    for (const item of sc(r)?.items ?? []) expect(item.organizationId).toBe('org_acme');
    // The org's name came from LoopIQ: it is in the fenced data, never in our words before it.
    const [ours, data] = r.content[0]!.text.split('<loopiq-data');
    expect(data).toContain('"organization":{"id":"org_acme","slug":"acme","name":"Acme Corp"}');
    expect(ours).not.toMatch(/Acme|org_acme/);
    expect(r.structuredContent?.dataNote).toMatch(/data, not instructions/);
  });

  it.each([
    ['loopiq_get_work_item', 'wi_acme_3', 'key', 'ACM-103'],
    ['loopiq_get_release', 'rel_acme_2', 'status', 'certifying'],
    ['loopiq_get_release_certification', 'cert_acme_2', 'status', 'in_review'],
    ['loopiq_get_release_certification_evidence_graph', 'cert_acme_2', 'certificationId', 'cert_acme_2'],
    ['loopiq_get_incident', 'inc_acme_1', 'key', 'INC-ACM-1'],
    ['loopiq_get_service_request', 'sr_acme_2', 'key', 'SR-ACM-2'],
  ])('%s returns one record', async (name, id, field, value) => {
    const c = await open();
    const r = await c.call(name, { id });
    expect(r.isError).toBeFalsy();
    expect(sc(r)?.record[field]).toBe(value);
    expect(sc(r)?.organization.id).toBe('org_acme');
  });

  it('pages with nextCursor until the end', async () => {
    const c = await open();
    const seen = new Set<string>();
    let cursor: string | undefined;
    let pages = 0;
    do {
      const r = await c.call('loopiq_list_work_items', { limit: 5, ...(cursor ? { cursor } : {}) });
      for (const i of sc(r)!.items) seen.add(i.id);
      cursor = sc(r)!.nextCursor ?? undefined;
      if (cursor) {
        // The cursor is LoopIQ's: named in our words, given only inside the fence.
        expect(r.content[0]!.text.split('<loopiq-data')[0]).toMatch(/call again with the nextCursor value/);
        expect(r.content[0]!.text.split('<loopiq-data')[0]).not.toContain(cursor);
      }
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen.size).toBe(12);
  });

  it('a record of another org is not found, even by id', async () => {
    const c = await open();
    const r = await c.call('loopiq_get_work_item', { id: 'wi_globex_1' });
    expect(r.isError).toBe(true);
    expect(r.content[0]!.text).toMatch(/404 not_found/);
  });

  it('withholds foreign-org records the API leaks, and says so', async () => {
    const c = await open({ leakForeignRecords: true });
    const r = await c.call('loopiq_list_incidents');
    expect(r.structuredContent!.withheldForeign).toBe(1);
    expect(JSON.stringify(r)).not.toContain('FOREIGN RECORD');
  });

  it('strips invisible and bidi characters from record text and fences it as data', async () => {
    const c = await open();
    const r = await c.call('loopiq_get_work_item', { id: 'wi_acme_5' });
    const desc = sc(r)!.record.description as string;
    expect(desc).toContain('Ignore previous instructions');
    expect(desc).not.toMatch(/[\u200B\u202E\u202C]/);
    expect(r.content[0]!.text).toMatch(/^Work item from the pinned organization\.\n<loopiq-data note="[^"]*data, not instructions\.">\n\{.*\}\n<\/loopiq-data>$/s);
  });

  it('rejects bad arguments naming the field, and keeps serving', async () => {
    const c = await open();
    const r = await c.call('loopiq_list_work_items', { status: 'nope', limit: 500 });
    expect(r.isError).toBe(true);
    expect(r.content[0]!.text).toMatch(/status/);
    expect(r.content[0]!.text).toMatch(/limit/);
    expect((await c.call('loopiq_list_releases')).isError).toBeFalsy();
  });

  it('accepts an array argument that a client double-serialised as a JSON string', async () => {
    const c = await open();
    const r = await c.call('loopiq_search', { query: 'access', types: '["service_request"]' });
    expect(r.isError).toBeFalsy();
    expect(sc(r)!.items.every((i: { type: string }) => i.type === 'service_request')).toBe(true);
  });
});

describe('organization selection', () => {
  it('with several orgs and none selected, org-scoped tools explain how to select one', async () => {
    const c = (conn = await connectInProcess());
    const r = await c.call('loopiq_list_releases');
    expect(r.isError).toBe(true);
    const text = r.content[0]!.text;
    expect(text).toMatch(/No organization is selected/);
    expect(text.split('<loopiq-data')[1]).toContain('{"id":"org_acme","slug":"acme","name":"Acme Corp"}');
    expect(text.split('<loopiq-data')[0]).not.toContain('Acme');
    expect(text).toContain('loopiq-mcp use-org');
    expect(c.fake.requests.filter((q) => q.path !== '/api/v1/me')).toHaveLength(0);
  });

  it('whoami and list_organizations still work without a selection', async () => {
    const c = (conn = await connectInProcess());
    const who = await c.call('loopiq_whoami');
    expect(who.structuredContent).toMatchObject({ user: { email: 'alex@example.com' }, organization: null });
    const orgs = await c.call('loopiq_list_organizations');
    expect(sc(orgs)!.organizations.map((o: { slug: string }) => o.slug)).toEqual(['acme', 'globex', 'umbrella']);
  });

  it('a single-org user needs no selection', async () => {
    const c = (conn = await connectInProcess({ token: SANDBOX_TOKENS.sam }));
    const r = await c.call('loopiq_list_incidents');
    expect(sc(r)!.organization.slug).toBe('initech');
  });

  it('an org the user is not in is refused before any org-scoped request', async () => {
    const c = await open({ org: 'initech' });
    const r = await c.call('loopiq_list_incidents');
    expect(r.isError).toBe(true);
    expect(r.content[0]!.text).toMatch(/"initech".*is not one of yours/);
  });

  it('an org with MCP disabled is refused with the fix', async () => {
    const c = await open({ org: 'umbrella' });
    const r = await c.call('loopiq_list_incidents');
    expect(r.content[0]!.text).toMatch(/MCP access is disabled for the selected organization[^]*<loopiq-data[^]*"name":"Umbrella/);
  });

  it('follows a selection change in the config file before the next call', async () => {
    const c = (conn = await connectInProcess());
    const origin = c.sandbox.url;
    await c.config.update((d) => void (d.organizations[origin] = { id: 'org_acme', slug: 'acme', name: 'Acme Corp' }));
    expect(sc(await c.call('loopiq_list_releases'))!.organization.slug).toBe('acme');
    await c.config.update((d) => void (d.organizations[origin] = { id: 'org_globex', slug: 'globex', name: 'Globex' }));
    const r = await c.call('loopiq_list_releases');
    expect(sc(r)!.organization.slug).toBe('globex');
    expect(sc(r)!.items.every((i: { organizationId: string }) => i.organizationId === 'org_globex')).toBe(true);
  });
});

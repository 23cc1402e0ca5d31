import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { connectInProcess } from '../../test/support/in-process.js';
import { requestDigest } from './digest.js';

type Conn = Awaited<ReturnType<typeof connectInProcess>>;
let conn: Conn | undefined;
afterEach(async () => {
  await conn?.close();
  conn = undefined;
});

const CREATE = { type: 'task', title: 'Rotate the signing keys', priority: 'high' };
const execute = (c: Conn, id: string) => c.call('loopiq_execute_approved_action', { approvalId: id });

async function pending(extra: Parameters<typeof connectInProcess>[0] = {}) {
  const c = (conn = await connectInProcess({ org: 'acme', ...extra }));
  const r = await c.call('loopiq_create_work_item', CREATE);
  expect(r.structuredContent!.outcome).toBe('approval_required');
  return { c, id: r.structuredContent!.approvalId as string, file: join(c.approvals.dir, `${r.structuredContent!.approvalId as string}.json`) };
}

describe('approval records cannot be made or changed by writing files', () => {
  it('a pending record edited to "approved" is refused as forged; nothing is sent; the audit shows it', async () => {
    const { c, id, file } = await pending();
    writeFileSync(file, readFileSync(file, 'utf8').replace('"status": "pending"', '"status": "approved"'));
    const r = await execute(c, id);
    expect(r.structuredContent!.outcome).toBe('approval_invalid');
    expect(r.content[0]!.text).toMatch(/created or changed outside loopiq-mcp/);
    expect(c.fake.writes()).toHaveLength(0);
    expect((await c.audit.read()).at(-1)).toMatchObject({ outcome: 'approval_invalid', approvalId: id });
  });

  it('a new approval file written from scratch (with a correct unkeyed digest) is refused', async () => {
    const { c, file } = await pending();
    const real = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    const body = { ...CREATE, title: 'Grant admin to mallory' };
    const request = { method: 'POST', path: '/api/v1/work-items', body };
    const forged = { ...real, id: 'FRGD22', status: 'approved', request, digest: requestDigest({ org: 'org_acme', ...request }) };
    writeFileSync(join(c.approvals.dir, 'FRGD22.json'), JSON.stringify(forged));
    const r = await execute(c, 'FRGD22');
    expect(r.structuredContent!.outcome).toBe('approval_invalid');
    expect(c.fake.writes()).toHaveLength(0);
  });

  it('replaying an old "approved" copy after execution is refused: the anchored audit log says it was sent', async () => {
    const { c, id, file } = await pending();
    await c.approvals.decide(id, true, 'terminal (test)');
    copyFileSync(file, `${file}.copy`);
    expect((await execute(c, id)).structuredContent!.outcome).toBe('executed');
    copyFileSync(`${file}.copy`, file);
    const again = await execute(c, id);
    expect(again.structuredContent!.outcome).toBe('approval_invalid');
    expect(again.content[0]!.text).toMatch(/already used/);
    expect(c.fake.writes()).toHaveLength(1);
  });

  it('removing the audit lines that recorded the execution is detected, and writes are refused', async () => {
    const { c, id, file } = await pending();
    await c.approvals.decide(id, true, 'terminal (test)');
    copyFileSync(file, `${file}.copy`);
    await execute(c, id);
    const lines = readFileSync(c.audit.path, 'utf8').trim().split('\n');
    writeFileSync(c.audit.path, `${lines.slice(0, -2).join('\n')}\n`);
    copyFileSync(`${file}.copy`, file);
    const again = await execute(c, id);
    expect(again.content[0]!.text).toMatch(/audit log is broken/);
    expect(c.fake.writes()).toHaveLength(1);
  });
});

describe('the exact request', () => {
  it.each(['.', '..', '%2e%2e', 'a/b', 'a\\b', 'x?y', 'x#y', 'wi acme'])('id %j is refused for reads and writes, and nothing is sent', async (bad) => {
    const c = (conn = await connectInProcess({ org: 'acme' }));
    const before = c.fake.requests.length;
    const read = await c.call('loopiq_get_work_item', { id: bad });
    expect(read.isError).toBe(true);
    const write = await c.call('loopiq_add_comment', { id: bad, body: 'x' });
    expect(write.isError).toBe(true);
    expect(write.structuredContent?.outcome).not.toBe('approval_required');
    expect(c.fake.requests.slice(before).filter((q) => q.path.includes('work-items/'))).toHaveLength(0);
  });

  it('a request too long for the client UI is never approved there: the terminal, which shows it whole, carries it', async () => {
    const c = (conn = await connectInProcess({ org: 'acme', capabilities: { elicitation: { form: {} } } }));
    let asked = 0;
    c.client.setRequestHandler(ElicitRequestSchema, () => {
      asked++;
      return { action: 'accept', content: { approve: true } };
    });
    const r = await c.call('loopiq_create_work_item', { ...CREATE, description: `${'x'.repeat(19_000)} tail-field-marker` });
    expect(asked).toBe(0);
    expect(r.structuredContent).toMatchObject({ outcome: 'approval_required', channel: 'terminal' });
    expect(c.fake.writes()).toHaveLength(0);
  });
});

describe('write-ahead audit', () => {
  it('an audit log that cannot be written: nothing is sent, and the error names the file', async () => {
    const { c, id } = await pending();
    await c.approvals.decide(id, true, 'terminal (test)');
    rmSync(c.audit.path);
    mkdirSync(c.audit.path);
    const r = await execute(c, id);
    expect(r.isError).toBe(true);
    expect(r.content[0]!.text).toContain(c.audit.path);
    expect(c.fake.writes()).toHaveLength(0);
  });

  it('an audit log that is a symbolic link, or a state dir writable by everyone, is refused', async () => {
    const { c, id } = await pending();
    await c.approvals.decide(id, true, 'terminal (test)');
    const elsewhere = join(c.home.dir, 'elsewhere.jsonl');
    copyFileSync(c.audit.path, elsewhere);
    unlinkSync(c.audit.path);
    symlinkSync(elsewhere, c.audit.path);
    expect((await execute(c, id)).content[0]!.text).toMatch(/symbolic link/);
    unlinkSync(c.audit.path);
    copyFileSync(elsewhere, c.audit.path);
    chmodSync(join(c.audit.path, '..'), 0o777);
    expect((await execute(c, id)).content[0]!.text).toMatch(/writable by every user/);
    expect(c.fake.writes()).toHaveLength(0);
  });

  it.each([
    ['the last line removed', (t: string) => t.trim().split('\n').slice(0, -1).join('\n') + '\n'],
    ['the last line corrupted', (t: string) => t.replace(/}\n$/, ',}\n')],
    ['the whole file emptied', () => ''],
  ])('verify detects %s', async (_name, damage) => {
    const { c } = await pending();
    await c.call('loopiq_create_work_item', CREATE);
    expect(await c.audit.verify()).toMatchObject({ ok: true });
    writeFileSync(c.audit.path, damage(readFileSync(c.audit.path, 'utf8')));
    expect(await c.audit.verify()).toMatchObject({ ok: false });
  });

  it('verify detects a deleted file', async () => {
    const { c } = await pending();
    unlinkSync(c.audit.path);
    expect(await c.audit.verify()).toMatchObject({ ok: false, reason: expect.stringMatching(/whole log is gone/) as string });
  });
});

describe('at most one send at a time', () => {
  it.each([
    ['headers late', { kind: 'delay', ms: 1_500 }],
    ['body dripping', { kind: 'drip', everyMs: 40 }],
  ] as const)('a slow write (%s) ends at the attempt deadline; a racing execute is refused while it may be in flight; one record', async (_name, fault) => {
    const { c, id } = await pending({ attemptMs: 600 });
    await c.approvals.decide(id, true, 'terminal (test)');
    c.fake.faults.push({ method: 'POST', dryRun: false, ...fault });
    const first = execute(c, id);
    await new Promise((r) => setTimeout(r, 150));
    const racing = await execute(c, id);
    expect(racing.content[0]!.text).toMatch(/being executed right now/);
    const r1 = await first;
    expect(r1.structuredContent!.outcome).toBe('api_error');
    expect(r1.content[0]!.text).toMatch(/did not finish answering|may or may not have happened/);
    const posts = () => c.fake.requests.filter((q) => q.method === 'POST' && !q.query.includes('dryRun'));
    expect(posts()).toHaveLength(1);
    // Our attempt was cut at its deadline, so it is no longer in flight from here: the retry
    // carries the same Idempotency-Key, and LoopIQ keeps one record.
    expect((await execute(c, id)).structuredContent!.outcome).toBe('executed');
    await new Promise((r) => setTimeout(r, 1_700));
    expect(new Set(posts().map((p) => p.headers['idempotency-key'])).size).toBe(1);
    expect(c.fake.records.workItems.filter((w) => w.title === CREATE.title)).toHaveLength(1);
  });
});

describe('writes only through the gate', () => {
  it('the API client a tool receives cannot send a write, by type and at run time', async () => {
    const { ApiClient } = await import('../api/client.js');
    const { api } = await import('../api/contract.js');
    const { readApi } = await import('../api/read-api.js');
    const { StaticTokenSource } = await import('../auth/token-source.js');
    const { SANDBOX_TOKENS } = await import('../sandbox/seed.js');
    const c = (conn = await connectInProcess({ org: 'acme' }));
    const client = new ApiClient({ baseUrl: c.sandbox.url, tokens: new StaticTokenSource('env', SANDBOX_TOKENS.alex), userAgent: () => 't' });
    const ro = readApi(client);
    // @ts-expect-error a write endpoint is not a ReadEndpoint
    await expect(ro.call(api.createWorkItem({ type: 'task', title: 'x' }), { org: 'org_acme', idempotencyKey: 'k' })).rejects.toMatchObject({ code: 'read_only' });
    await client.close();
    expect(c.fake.requests.filter((q) => q.method !== 'GET')).toHaveLength(0);
  });
});

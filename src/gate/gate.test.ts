import { existsSync, mkdtempSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ElicitRequestSchema, type ElicitResult } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { connectInProcess } from '../../test/support/in-process.js';
import { ApiClient } from '../api/client.js';
import { api } from '../api/contract.js';
import { StaticTokenSource } from '../auth/token-source.js';
import { SANDBOX_TOKENS } from '../sandbox/seed.js';
import { selectTools } from '../tools/index.js';

type Conn = Awaited<ReturnType<typeof connectInProcess>>;
let conn: Conn | undefined;
afterEach(async () => {
  await conn?.close();
  conn = undefined;
});

const CREATE = { type: 'task', title: 'Rotate the signing keys', priority: 'high' };

/** A client that declares elicitation and answers each request with `answer`. */
async function withElicitation(answer: () => Promise<ElicitResult> | ElicitResult, extra: Parameters<typeof connectInProcess>[0] = {}) {
  const c = (conn = await connectInProcess({ org: 'acme', capabilities: { elicitation: { form: {} } }, ...extra }));
  const asked: string[] = [];
  c.client.setRequestHandler(ElicitRequestSchema, async (req) => {
    asked.push((req.params as { message: string }).message);
    return answer();
  });
  return { c, asked };
}

describe('write gate: elicitation', () => {
  it('accept → exactly one POST with an Idempotency-Key, ids returned, audit line written', async () => {
    const { c, asked } = await withElicitation(() => ({ action: 'accept', content: { approve: true } }));
    const r = await c.call('loopiq_create_work_item', CREATE);
    expect(r.isError, r.content[0]!.text).toBeFalsy();
    expect(r.structuredContent).toMatchObject({ outcome: 'executed', channel: 'elicitation', organization: { id: 'org_acme' } });
    const writes = c.fake.writes();
    expect(writes).toHaveLength(1);
    expect(writes[0]!.headers['idempotency-key']).toBeTruthy();
    expect(JSON.parse(writes[0]!.body)).toEqual(CREATE);
    expect(r.structuredContent!.ids).toEqual([(JSON.parse(JSON.stringify(c.fake.records.workItems.at(-1))) as { id: string }).id]);
    // The human saw the org, the tool, LoopIQ's preview and the payload.
    expect(asked[0]).toContain('Organization: Acme Corp (org_acme)');
    expect(asked[0]).toContain('loopiq_create_work_item');
    expect(asked[0]).toContain('"action": "create_work_item"');
    expect(asked[0]).toContain('"title": "Rotate the signing keys"');
    const lines = await c.audit.read();
    expect(lines.map((l) => l.outcome)).toEqual(['approved', 'executing', 'executed']);
    const line = lines.at(-1);
    expect(line).toMatchObject({ outcome: 'executed', channel: 'elicitation', org: 'org_acme', tool: 'loopiq_create_work_item', httpStatus: 201 });
    expect(line!.idempotencyKey).toBe(writes[0]!.headers['idempotency-key']);
  });

  it('shows hidden characters in the request as visible escapes, and sends them unchanged', async () => {
    const { c, asked } = await withElicitation(() => ({ action: 'accept', content: { approve: true } }));
    const title = 'Fix login\u202E (reversed) \u200Bzero-width';
    await c.call('loopiq_create_work_item', { type: 'bug', title });
    expect(asked[0]).toContain('Fix login\\u{202E} (reversed) \\u{200B}zero-width');
    expect(asked[0]).not.toMatch(/[\u202E\u200B]/);
    expect((JSON.parse(c.fake.writes()[0]!.body) as { title: unknown }).title).toBe(title);
  });

  it.each([
    ['decline', { action: 'decline' } satisfies ElicitResult, 'declined'],
    ['accept without the box ticked', { action: 'accept', content: { approve: false } } satisfies ElicitResult, 'declined'],
    ['cancel', { action: 'cancel' } satisfies ElicitResult, 'cancelled'],
  ])('%s → nothing written, outcome %s', async (_name, answer, outcome) => {
    const { c } = await withElicitation(() => answer);
    const r = await c.call('loopiq_create_work_item', CREATE);
    expect(r.isError).toBe(true);
    expect(r.structuredContent!.outcome).toBe(outcome);
    expect(r.content[0]!.text).toMatch(/Nothing was written/);
    expect(c.fake.writes()).toHaveLength(0);
    expect((await c.audit.read()).map((l) => l.outcome)).toEqual([outcome]);
    expect(await c.audit.verify()).toMatchObject({ ok: true });
  });

  it('a client that declares elicitation and never answers: approval_pending within the bound, the terminal carries it, one write after approval', async () => {
    const { c } = await withElicitation(() => new Promise(() => {}), { waitMs: 300, confirmTimeoutMs: 60_000 });
    const started = Date.now();
    const r = await c.call('loopiq_create_work_item', CREATE);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(r.isError).toBeFalsy();
    expect(r.structuredContent).toMatchObject({ outcome: 'approval_pending', channel: 'terminal' });
    expect(r.content[0]!.text).toMatch(/did not answer in the client in time/);
    const id = r.structuredContent!.approvalId as string;
    expect(c.fake.writes()).toHaveLength(0);
    await c.approvals.decide(id, true, 'terminal (test)');
    const x = await c.call('loopiq_execute_approved_action', { approvalId: id });
    expect(x.structuredContent!.outcome).toBe('executed');
    expect((await c.call('loopiq_execute_approved_action', { approvalId: id })).structuredContent!.outcome).toBe('approval_invalid');
    expect(c.fake.writes()).toHaveLength(1);
  });

  it('a client that advertises elicitation but auto-cancels (no UI) is "not approved", not "declined"', async () => {
    const { c } = await withElicitation(() => ({ action: 'cancel' }));
    const r = await c.call('loopiq_add_comment', { id: 'wi_acme_1', body: 'hi' });
    expect(r.structuredContent!.outcome).toBe('cancelled');
    expect(c.fake.writes()).toHaveLength(0);
  });

  it('a preview LoopIQ refuses stops before asking anyone', async () => {
    const { c, asked } = await withElicitation(() => ({ action: 'accept', content: { approve: true } }));
    const r = await c.call('loopiq_create_work_item', { ...CREATE, parentId: 'wi_nope' });
    expect(r.structuredContent!.outcome).toBe('preview_failed');
    // LoopIQ's words reach the model as data (inside the fence), ours outside.
    expect((r.structuredContent!.error as { fieldErrors: unknown }).fieldErrors).toEqual([{ path: 'parentId', message: 'no such work item in this organization' }]);
    expect(r.content[0]!.text.split('<loopiq-data')[0]).not.toMatch(/no such work item/);
    expect(r.content[0]!.text.split('<loopiq-data')[1]).toMatch(/no such work item/);
    expect(asked).toHaveLength(0);
    expect(c.fake.writes()).toHaveLength(0);
  });

  it('a 503 on the approved POST is retried with the same key: exactly one record', async () => {
    const { c } = await withElicitation(() => ({ action: 'accept', content: { approve: true } }));
    c.fake.faults.push({ method: 'POST', path: '/api/v1/work-items', dryRun: false, kind: 'status', status: 503, code: 'unavailable', retryAfter: 0 });
    const before = c.fake.records.workItems.length;
    const r = await c.call('loopiq_create_work_item', CREATE);
    expect(r.structuredContent!.outcome).toBe('executed');
    const posts = c.fake.requests.filter((q) => q.method === 'POST' && !q.query.includes('dryRun'));
    expect(posts).toHaveLength(2);
    expect(posts[0]!.headers['idempotency-key']).toBe(posts[1]!.headers['idempotency-key']);
    expect(c.fake.records.workItems.length).toBe(before + 1);
  });

  it('a lost response after the write is retried with the same key: still one record', async () => {
    const { c } = await withElicitation(() => ({ action: 'accept', content: { approve: true } }));
    c.fake.faults.push({ method: 'POST', path: '/api/v1/service-requests', dryRun: false, kind: 'reset-after' });
    const before = c.fake.records.serviceRequests.length;
    const r = await c.call('loopiq_create_service_request', { title: 'Access to staging', category: 'access' });
    expect(r.structuredContent!.outcome).toBe('executed');
    expect(c.fake.records.serviceRequests.length).toBe(before + 1);
  });
});

describe('write gate: terminal approval', () => {
  async function pending(tool = 'loopiq_create_work_item', args: Record<string, unknown> = CREATE) {
    const c = (conn = await connectInProcess({ org: 'acme' }));
    const r = await c.call(tool, args);
    expect(r.structuredContent!.outcome).toBe('approval_required');
    expect(r.isError).toBeFalsy();
    const id = r.structuredContent!.approvalId as string;
    expect(id).toMatch(/^[2-9A-HJKMNP-Z]{6}$/);
    expect(r.content[0]!.text).toContain(`loopiq-mcp approve ${id}`);
    return { c, id };
  }
  const approveNow = (c: Conn, id: string) => c.approvals.transition(id, (a) => ({ ...a, status: 'approved' }));
  const execute = (c: Conn, id: string) => c.call('loopiq_execute_approved_action', { approvalId: id });

  it('approved → exactly the stored request, once; a second execute is refused', async () => {
    const { c, id } = await pending();
    expect(c.fake.writes()).toHaveLength(0);
    await approveNow(c, id);
    const r = await execute(c, id);
    expect(r.structuredContent).toMatchObject({ outcome: 'executed', channel: 'terminal', approvalId: id });
    expect(c.fake.writes()).toHaveLength(1);
    expect(JSON.parse(c.fake.writes()[0]!.body)).toEqual(CREATE);
    expect(c.fake.writes()[0]!.headers['idempotency-key']).toBe((await c.approvals.get(id))!.idempotencyKey);
    const again = await execute(c, id);
    expect(again.structuredContent!.outcome).toBe('approval_invalid');
    expect(again.content[0]!.text).toMatch(/already used/);
    expect(c.fake.writes()).toHaveLength(1);
  });

  it('refuses without approval, after rejection, after expiry, after an org switch, for a tampered request, for unknown codes', async () => {
    const { c, id } = await pending();
    expect((await execute(c, id)).content[0]!.text).toMatch(/has not approved it yet/);
    expect((await execute(c, 'ZZZZZZ')).content[0]!.text).toMatch(/no approval "ZZZZZZ"/);

    await c.approvals.transition(id, (a) => ({ ...a, status: 'rejected' }));
    expect((await execute(c, id)).content[0]!.text).toMatch(/rejected/);

    const { id: id2 } = await (async () => {
      const r = await c.call('loopiq_create_work_item', CREATE);
      return { id: r.structuredContent!.approvalId as string };
    })();
    await c.approvals.transition(id2, (a) => ({ ...a, status: 'approved', expiresAt: new Date(Date.now() - 1).toISOString() }));
    expect((await execute(c, id2)).content[0]!.text).toMatch(/expired/);

    const r3 = await c.call('loopiq_create_work_item', CREATE);
    const id3 = r3.structuredContent!.approvalId as string;
    await c.approvals.transition(id3, (a) => ({ ...a, status: 'approved', request: { ...a.request, body: { ...CREATE, title: 'Something else' } } }));
    expect((await execute(c, id3)).content[0]!.text).toMatch(/does not match what was approved/);

    expect(c.fake.writes()).toHaveLength(0);
    const outcomes = (await c.audit.read()).map((l) => l.outcome);
    expect(outcomes.filter((o) => o === 'approval_invalid')).toHaveLength(5);
  });

  it('an org switch voids the approval', async () => {
    const c = (conn = await connectInProcess());
    const origin = c.sandbox.url;
    await c.config.update((d) => void (d.organizations[origin] = { id: 'org_acme', slug: 'acme', name: 'Acme Corp' }));
    const r = await c.call('loopiq_create_work_item', CREATE);
    const id = r.structuredContent!.approvalId as string;
    await approveNow(c, id);
    await c.config.update((d) => void (d.organizations[origin] = { id: 'org_globex', slug: 'globex', name: 'Globex' }));
    const x = await execute(c, id);
    expect(x.structuredContent!.outcome).toBe('approval_invalid');
    expect(x.content[0]!.text).toMatch(/organization changed/);
    expect(c.fake.writes()).toHaveLength(0);
  });

  it('a transport failure keeps the approval usable; the retry reuses the key and writes once', async () => {
    const { c, id } = await pending('loopiq_update_work_item', { id: 'wi_acme_2', changes: { status: 'done' } });
    await approveNow(c, id);
    c.fake.faults.push({ method: 'PATCH', dryRun: false, kind: 'reset-after', times: 3 });
    const first = await execute(c, id);
    expect(first.structuredContent!.outcome).toBe('api_error');
    expect(first.content[0]!.text).toMatch(/safe \(same Idempotency-Key; it cannot write twice\)/);
    const second = await execute(c, id);
    expect(second.structuredContent!.outcome).toBe('executed');
    const patches = c.fake.requests.filter((q) => q.method === 'PATCH' && !q.query.includes('dryRun'));
    expect(new Set(patches.map((p) => p.headers['idempotency-key'])).size).toBe(1);
    expect(c.fake.records.workItems.find((w) => w.id === 'wi_acme_2')!.status).toBe('done');
  });

  it('two concurrent executions of one approval write once', async () => {
    const { c, id } = await pending();
    await approveNow(c, id);
    c.fake.faults.push({ method: 'POST', dryRun: false, kind: 'delay', ms: 300 });
    const [a, b] = await Promise.all([execute(c, id), execute(c, id)]);
    const outcomes = [a, b].map((r) => r.structuredContent!.outcome as string).sort();
    expect(outcomes).toEqual(['approval_invalid', 'executed']);
    expect(c.fake.writes()).toHaveLength(1);
  });

  it('old approval files are pruned after a day', async () => {
    const { c, id } = await pending();
    const file = join(c.approvals.dir, `${id}.json`);
    const dayAgo = new Date(Date.now() - 25 * 3_600_000);
    utimesSync(file, dayAgo, dayAgo);
    await c.call('loopiq_create_work_item', CREATE);
    expect(existsSync(file)).toBe(false);
  });

  it('with no channel at all, nothing is written and the result says so', async () => {
    const c = (conn = await connectInProcess({ org: 'acme', channels: ['elicitation'] }));
    const r = await c.call('loopiq_create_work_item', CREATE);
    expect(r.structuredContent!.outcome).toBe('no_channel');
    expect(c.fake.writes()).toHaveLength(0);
  });
});

describe('write gate: native dialog (fake zenity on PATH, real spawn)', () => {
  const fakeDir = fileURLToPath(new URL('../../test/fixtures/fake-dialog', import.meta.url));
  async function withDialog(mode: string, confirmTimeoutMs = 5_000, waitMs = 5_000) {
    const log = join(mkdtempSync(join(tmpdir(), 'zenity-')), 'argv');
    process.env.FAKE_ZENITY_MODE = mode;
    process.env.FAKE_ZENITY_LOG = log;
    const c = (conn = await connectInProcess({ org: 'acme', channels: ['dialog', 'terminal'], confirmTimeoutMs, waitMs }));
    Object.assign((c.gate as unknown as { deps: { env: NodeJS.ProcessEnv } }).deps.env, {
      PATH: `${fakeDir}:${process.env.PATH}`,
      DISPLAY: ':99',
      FAKE_ZENITY_MODE: mode,
      FAKE_ZENITY_LOG: log,
    });
    return { c, argv: () => readFileSync(log, 'utf8').split('\0').slice(0, -1) };
  }

  it('approve → one write; hostile text reaches zenity verbatim as one argument', async () => {
    const { c, argv } = await withDialog('approve');
    const title = `It's "quoted" $(touch /tmp/pwned) \`id\` ; rm -rf ~\nsecond line`;
    const r = await c.call('loopiq_create_work_item', { type: 'task', title });
    expect(r.structuredContent).toMatchObject({ outcome: 'executed', channel: 'dialog' });
    const text = argv().find((a) => a.startsWith('--text='))!;
    expect(text).toContain(JSON.stringify(title).slice(1, -1));
    expect(text).toContain('Organization: Acme Corp (org_acme)');
    expect(c.fake.writes()).toHaveLength(1);
    expect((JSON.parse(c.fake.writes()[0]!.body) as { title: unknown }).title).toBe(title);
  });

  it('reject → declined, nothing written', async () => {
    const { c } = await withDialog('reject');
    const r = await c.call('loopiq_create_work_item', CREATE);
    expect(r.structuredContent).toMatchObject({ outcome: 'declined', channel: 'dialog' });
    expect(c.fake.writes()).toHaveLength(0);
  });

  it('a dialog nobody answers times out and is killed', async () => {
    const { c } = await withDialog('hang', 300);
    const started = Date.now();
    const r = await c.call('loopiq_create_work_item', CREATE);
    expect(r.structuredContent).toMatchObject({ outcome: 'timed_out', channel: 'dialog' });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(c.fake.writes()).toHaveLength(0);
  });

  it("a dialog still open when the call's wait ends: approval_pending; the later Approve is recorded and executed once", async () => {
    const answer = join(mkdtempSync(join(tmpdir(), 'zenity-answer-')), 'answer');
    process.env.FAKE_ZENITY_ANSWER = answer;
    const { c } = await withDialog('later', 30_000, 300);
    Object.assign((c.gate as unknown as { deps: { env: NodeJS.ProcessEnv } }).deps.env, { FAKE_ZENITY_ANSWER: answer });
    const r = await c.call('loopiq_create_work_item', CREATE);
    expect(r.isError).toBeFalsy();
    expect(r.structuredContent).toMatchObject({ outcome: 'approval_pending', channel: 'dialog' });
    const id = r.structuredContent!.approvalId as string;
    expect(r.content[0]!.text).toMatch(/dialog is still open/);
    expect((await c.call('loopiq_execute_approved_action', { approvalId: id })).content[0]!.text).toMatch(/not approved it yet/);
    writeFileSync(answer, '0');
    for (let i = 0; i < 100 && (await c.approvals.get(id))!.status !== 'approved'; i++) await new Promise((res) => setTimeout(res, 50));
    expect((await c.approvals.get(id))!.decidedBy).toMatch(/^dialog/);
    const x = await c.call('loopiq_execute_approved_action', { approvalId: id });
    expect(x.structuredContent).toMatchObject({ outcome: 'executed', channel: 'dialog' });
    expect(c.fake.writes()).toHaveLength(1);
  });

  it('no display → the dialog is "unavailable" (not "declined") and the next channel is used', async () => {
    const { c } = await withDialog('approve');
    delete (c.gate as unknown as { deps: { env: NodeJS.ProcessEnv } }).deps.env.DISPLAY;
    const r = await c.call('loopiq_create_work_item', CREATE);
    expect(r.structuredContent).toMatchObject({ outcome: 'approval_required', channel: 'terminal' });
  });
});

describe('read-only mode', () => {
  it('lists no write tool, and the client layer refuses a forced write', async () => {
    const names = selectTools({ readOnly: true }).map((t) => t.name);
    expect(names).toHaveLength(14);
    expect(names.some((n) => /create|update|add_comment|execute/.test(n))).toBe(false);

    const c = (conn = await connectInProcess({ org: 'acme' }));
    const ro = new ApiClient({ baseUrl: c.sandbox.url, tokens: new StaticTokenSource('env', SANDBOX_TOKENS.alex), userAgent: () => 't', readOnly: true });
    await expect(ro.call(api.createWorkItem({ type: 'task', title: 'x' }), { org: 'org_acme', idempotencyKey: 'k' })).rejects.toMatchObject({ code: 'read_only' });
    await ro.close();
    expect(c.fake.requests.filter((q) => q.method !== 'GET')).toHaveLength(0);
  });

  it('tool filters: deny wins over allow', () => {
    expect(selectTools({ tools: 'loopiq_whoami,loopiq_search', excludeTools: 'loopiq_search' }).map((t) => t.name)).toEqual(['loopiq_whoami']);
  });
});

describe('audit log', () => {
  it('is a hash chain that detects an edited line', async () => {
    const { c } = await withElicitation(() => ({ action: 'accept', content: { approve: true } }));
    await c.call('loopiq_create_work_item', CREATE);
    await c.call('loopiq_add_comment', { id: 'wi_acme_1', body: 'done' });
    expect(await c.audit.verify()).toEqual({ ok: true, lines: 6 });
    const text = readFileSync(c.audit.path, 'utf8');
    expect(text).not.toContain(SANDBOX_TOKENS.alex);
    writeFileSync(c.audit.path, text.replace('"executed"', '"declined"'));
    expect(await c.audit.verify()).toMatchObject({ ok: false, line: 3 });
  });
});

import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type RunningSandbox } from '../src/sandbox/fake-loopiq.js';
import { SANDBOX_TOKENS } from '../src/sandbox/seed.js';
import { baseEnv, CLI, connectCli, runCli, tempHome } from './support/cli.js';

let sandbox: RunningSandbox;
beforeAll(async () => {
  sandbox = await startSandbox();
});
afterAll(() => sandbox.close());

/** Runs `loopiq-mcp approve <code>` in a real pseudo-terminal (util-linux `script`) and answers the prompt. */
function approveInPty(code: string, answer: string, env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('script', ['-qec', `${process.execPath} ${CLI} approve ${code}`, '/dev/null'], { env: { ...env, TERM: 'dumb' } });
    let output = '';
    let answered = false;
    child.stdout.on('data', (c: Buffer) => {
      output += c.toString();
      if (!answered && /\[y\/N\]/.test(output)) {
        answered = true;
        child.stdin.write(`${answer}\r`);
      }
    });
    const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('close', (exit) => {
      clearTimeout(t);
      resolve({ code: exit, output });
    });
  });
}

const CREATE = { type: 'bug', title: 'Checkout 500s under load', description: 'Seen in INC-ACM-1', priority: 'critical' };

describe('writes through the built CLI', () => {
  it('terminal flow: approval_required → `approve` in a pty → execute sends exactly the approved body, once', async () => {
    const home = tempHome();
    const env = baseEnv({ ...home.env, LOOPIQ_API_URL: sandbox.url, LOOPIQ_TOKEN: SANDBOX_TOKENS.alex, LOOPIQ_ORG: 'acme' });
    const { client, transport, close } = await connectCli(['serve'], env);
    const before = sandbox.fake.writes().length;

    const proposed = await client.callTool({ name: 'loopiq_create_work_item', arguments: CREATE });
    const sc = proposed.structuredContent as { outcome: string; approvalId: string };
    expect(sc.outcome).toBe('approval_required');
    expect(sandbox.fake.writes().length).toBe(before);

    // Without a TTY (an agent running the command) approval is refused.
    const noTty = await runCli(['approve', sc.approvalId], env, 'y\n');
    expect(noTty.code).toBe(1);
    expect(noTty.stderr).toMatch(/needs an interactive terminal/);

    const listed = await runCli(['approve'], env);
    expect(listed.stdout).toContain(sc.approvalId);
    expect(listed.stdout).toContain('loopiq_create_work_item');

    const pty = await approveInPty(sc.approvalId, 'y', env);
    expect(pty.code, pty.output).toBe(0);
    expect(pty.output).toContain('Organization: Acme Corp (org_acme)');
    expect(pty.output).toContain('"title": "Checkout 500s under load"');
    expect(pty.output).toMatch(new RegExp(`Approved ${sc.approvalId}`));

    const done = await client.callTool({ name: 'loopiq_execute_approved_action', arguments: { approvalId: sc.approvalId } });
    expect(done.structuredContent).toMatchObject({ outcome: 'executed', channel: 'terminal' });
    const writes = sandbox.fake.writes().slice(before);
    expect(writes).toHaveLength(1);
    expect(JSON.parse(writes[0]!.body)).toEqual(CREATE);

    const twice = await client.callTool({ name: 'loopiq_execute_approved_action', arguments: { approvalId: sc.approvalId } });
    expect((twice.structuredContent as { outcome: string }).outcome).toBe('approval_invalid');
    expect(sandbox.fake.writes().length - before).toBe(1);
    await close();
    expect(transport.nonJsonRpcStdout()).toEqual([]);

    const audit = await runCli(['audit', '--verify'], env);
    expect(audit.code).toBe(0);
    expect(audit.stdout).toMatch(/3 line\(s\), hash chain intact/);
    const log = readFileSync(join(home.env.LOOPIQ_STATE_DIR, 'audit.jsonl'), 'utf8');
    expect(log).not.toContain(SANDBOX_TOKENS.alex);
    const lines = log.trim().split('\n');
    const edited = lines.map((l, i) => (i === 1 ? l.replace('"executed"', '"declined"') : l)).join('\n') + '\n';
    writeFileSync(join(home.env.LOOPIQ_STATE_DIR, 'audit.jsonl'), edited);
    const broken = await runCli(['audit', '--verify'], env);
    expect(broken.code).toBe(1);
    expect(broken.stdout).toMatch(/BROKEN at line 2/);
  });

  it('answering N in the pty rejects; execute is refused and nothing is written', async () => {
    const home = tempHome();
    const env = baseEnv({ ...home.env, LOOPIQ_API_URL: sandbox.url, LOOPIQ_TOKEN: SANDBOX_TOKENS.alex, LOOPIQ_ORG: 'acme' });
    const { client, close } = await connectCli(['serve'], env);
    const before = sandbox.fake.writes().length;
    const p = await client.callTool({ name: 'loopiq_add_comment', arguments: { id: 'wi_acme_1', body: 'ship it' } });
    const id = (p.structuredContent as { approvalId: string }).approvalId;
    const pty = await approveInPty(id, 'n', env);
    expect(pty.output).toMatch(/Rejected/);
    const r = await client.callTool({ name: 'loopiq_execute_approved_action', arguments: { approvalId: id } });
    expect((r.structuredContent as { outcome: string }).outcome).toBe('approval_invalid');
    expect(sandbox.fake.writes().length).toBe(before);
    await close();
  });

  it('elicitation over real stdio: accept writes once; decline writes nothing', async () => {
    const home = tempHome();
    const env = baseEnv({ ...home.env, LOOPIQ_API_URL: sandbox.url, LOOPIQ_TOKEN: SANDBOX_TOKENS.alex, LOOPIQ_ORG: 'globex' });
    const { client, close } = await connectCli(['serve'], env, { elicitation: { form: {} } });
    let answer: 'accept' | 'decline' = 'accept';
    client.setRequestHandler(ElicitRequestSchema, async () => (answer === 'accept' ? { action: 'accept', content: { approve: true } } : { action: 'decline' }));
    const before = sandbox.fake.writes().length;
    const ok = await client.callTool({ name: 'loopiq_create_service_request', arguments: { title: 'VPN for contractor', category: 'access' } });
    expect(ok.structuredContent).toMatchObject({ outcome: 'executed', channel: 'elicitation', organization: { id: 'org_globex' } });
    answer = 'decline';
    const no = await client.callTool({ name: 'loopiq_create_service_request', arguments: { title: 'Another', category: 'access' } });
    expect((no.structuredContent as { outcome: string }).outcome).toBe('declined');
    const writes = sandbox.fake.writes().slice(before);
    expect(writes).toHaveLength(1);
    expect(writes[0]!.headers['loopiq-organization']).toBe('org_globex');
    expect(writes[0]!.headers['idempotency-key']).toBeTruthy();
    await close();
  });

  it('--read-only lists no write tool', async () => {
    const home = tempHome();
    const env = baseEnv({ ...home.env, LOOPIQ_API_URL: sandbox.url, LOOPIQ_TOKEN: SANDBOX_TOKENS.alex, LOOPIQ_ORG: 'acme', LOOPIQ_READ_ONLY: '1' });
    const { client, close } = await connectCli(['serve'], env);
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toHaveLength(14);
    expect(names).not.toContain('loopiq_execute_approved_action');
    await close();
  });
});


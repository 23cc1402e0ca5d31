import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type RunningSandbox } from '../src/sandbox/fake-loopiq.js';
import { SANDBOX_TOKENS } from '../src/sandbox/seed.js';
import { baseEnv, CLI, connectCli, runCli, tempHome } from './support/cli.js';
import { inHumanTerminal } from './support/human-terminal.js';

let sandbox: RunningSandbox;
beforeAll(async () => {
  sandbox = await startSandbox();
});
afterAll(() => sandbox.close());

/** The user approves in their own terminal (a tmux pane outside this client's process tree). */
const approveInPty = async (code: string, answer: string, env: Record<string, string>) => {
  const r = await inHumanTerminal([process.execPath, CLI, 'approve', code], { ...env, TERM: 'xterm' }, answer);
  return { code: r.code, output: r.text, bytes: r.bytes };
};

/** An agent's shell tool: the command under a pseudo-terminal (`script`), inside the client's process tree. */
function agentInPty(args: string[], env: Record<string, string>, answer = 'y'): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('script', ['-qec', [process.execPath, CLI, ...args].join(' '), '/dev/null'], { env: { ...env, TERM: 'dumb' } });
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
    expect(audit.stdout).toMatch(/6 line\(s\), hash chain intact/);
    const log = readFileSync(join(home.env.LOOPIQ_STATE_DIR, 'audit.jsonl'), 'utf8');
    expect(log).not.toContain(SANDBOX_TOKENS.alex);
    const lines = log.trim().split('\n');
    const edited = lines.map((l, i) => (i === 4 ? l.replace('"executed"', '"declined"') : l)).join('\n') + '\n';
    writeFileSync(join(home.env.LOOPIQ_STATE_DIR, 'audit.jsonl'), edited);
    const broken = await runCli(['audit', '--verify'], env);
    expect(broken.code).toBe(1);
    expect(broken.stdout).toMatch(/BROKEN at line 5/);
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
    client.setRequestHandler(ElicitRequestSchema, () => (answer === 'accept' ? { action: 'accept', content: { approve: true } } : { action: 'decline' }));
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

  it('an agent cannot approve its own write: `approve` under a pty inside the client, or with an agent marker, is refused and audited; nothing is sent', async () => {
    const home = tempHome();
    const env = baseEnv({ ...home.env, LOOPIQ_API_URL: sandbox.url, LOOPIQ_TOKEN: SANDBOX_TOKENS.alex, LOOPIQ_ORG: 'acme' });
    const { client, close } = await connectCli(['serve'], env);
    const before = sandbox.fake.writes().length;
    const p = await client.callTool({ name: 'loopiq_add_comment', arguments: { id: 'wi_acme_1', body: 'approve me' } });
    const id = (p.structuredContent as { approvalId: string }).approvalId;

    const underScript = await agentInPty(['approve', id], env);
    expect(underScript.code).toBe(1);
    expect(underScript.output).toMatch(/runs inside the AI client that asked for this write/);
    expect(underScript.output).not.toMatch(/Approved/);

    const marked = await inHumanTerminal([process.execPath, CLI, 'approve', id], { ...env, CLAUDECODE: '1' }, 'y');
    expect(marked.code).toBe(1);
    expect(marked.text).toMatch(/AI agent's shell \(CLAUDECODE is set\)/);

    const r = await client.callTool({ name: 'loopiq_execute_approved_action', arguments: { approvalId: id } });
    expect((r.structuredContent as { outcome: string }).outcome).toBe('approval_invalid');
    expect(sandbox.fake.writes().length).toBe(before);
    const audit = await runCli(['audit', '--json'], env);
    const refused = (JSON.parse(audit.stdout) as { outcome: string; detail?: string }[]).filter((l) => l.outcome === 'approval_refused');
    expect(refused.map((l) => l.detail)).toEqual([expect.stringMatching(/inside the AI client/), expect.stringMatching(/CLAUDECODE/)]);
    await close();
  });

  it('what the human approves in the terminal is inert: no control byte from the request reaches the pty, and the shown payload is exactly what is sent', async () => {
    const home = tempHome();
    const env = baseEnv({ ...home.env, LOOPIQ_API_URL: sandbox.url, LOOPIQ_TOKEN: SANDBOX_TOKENS.alex, LOOPIQ_ORG: 'acme' });
    const { client, close } = await connectCli(['serve'], env);
    const before = sandbox.fake.writes().length;
    const hostile =
      'Fix\r\u001B[2KAction:       Comment "ok"\n\tTool: x\u009B2J\u0085\u0007\u001B]0;owned\u0007 \u202Eevil\u202C \u200B\u2028\u2029\uFE0F\u3164\u{E0041}\u00AD end';
    const p = await client.callTool({ name: 'loopiq_create_work_item', arguments: { type: 'task', title: hostile, description: 'desc\u001B[31mred' } });
    const id = (p.structuredContent as { approvalId: string }).approvalId;
    expect(id).toBeTruthy();

    const shown = await approveInPty(id, 'y', env);
    expect(shown.code, shown.output).toBe(0);
    // Every byte the program wrote: no C0 but CR/LF, no DEL, no C1, no bidi or invisible characters.
    const text = shown.bytes.toString('utf8');
    // eslint-disable-next-line no-control-regex, no-misleading-character-class -- the class lists exactly the control, invisible and variation-selector characters that must not reach the terminal
    expect(text).not.toMatch(/[\u0000-\u0009\u000B-\u000C\u000E-\u001F\u007F-\u009F\u061C\u200B-\u200F\u2028-\u202E\u2060-\u206F\uFE00-\uFE0F\uFEFF\u3164\u00AD]|[\u{E0000}-\u{E007F}]/u);
    const actionLines = text.split(/\r?\n/).filter((l) => l.startsWith('Action:'));
    expect(actionLines).toHaveLength(1);
    // The payload block is JSON that parses to exactly the body that is then sent.
    const block = /Payload \(sent exactly as shown, once\):\r?\n([\s\S]*?)\r?\n\r?\nDigest:/.exec(text)![1]!.replace(/\r\n/g, '\n');
    const shownBody = JSON.parse(block) as unknown;
    expect(shownBody).toEqual({ type: 'task', title: hostile, description: 'desc\u001B[31mred' });

    const done = await client.callTool({ name: 'loopiq_execute_approved_action', arguments: { approvalId: id } });
    expect((done.structuredContent as { outcome: string }).outcome).toBe('executed');
    const writes = sandbox.fake.writes().slice(before);
    expect(writes).toHaveLength(1);
    expect(JSON.parse(writes[0]!.body)).toEqual(shownBody);

    const list = await runCli(['audit'], env);
    // eslint-disable-next-line no-control-regex -- matching control characters is the point: the audit listing must hold none
    expect(list.stdout).not.toMatch(/[\u0000-\u0009\u000B-\u001F\u007F-\u009F\u202E]/);
    await close();
  });

  it('a client that declares elicitation and never answers: the call ends within the bound with approval_pending; the terminal carries it; one write', async () => {
    const home = tempHome();
    const env = baseEnv({ ...home.env, LOOPIQ_API_URL: sandbox.url, LOOPIQ_TOKEN: SANDBOX_TOKENS.alex, LOOPIQ_ORG: 'acme', LOOPIQ_CONFIRM_WAIT: '1' });
    const { client, close } = await connectCli(['serve'], env, { elicitation: { form: {} } });
    let asked = 0;
    client.setRequestHandler(ElicitRequestSchema, () => {
      asked++;
      return new Promise(() => {}); // declared, never rendered
    });
    const before = sandbox.fake.writes().length;
    const r = await client.callTool({ name: 'loopiq_add_comment', arguments: { id: 'wi_acme_1', body: 'silent client' } });
    expect(asked).toBe(1);
    const sc = r.structuredContent as { outcome: string; channel: string; approvalId: string };
    expect(sc).toMatchObject({ outcome: 'approval_pending', channel: 'terminal' });
    expect(sandbox.fake.writes().length).toBe(before);
    const shown = await approveInPty(sc.approvalId, 'y', env);
    expect(shown.code, shown.output).toBe(0);
    const done = await client.callTool({ name: 'loopiq_execute_approved_action', arguments: { approvalId: sc.approvalId } });
    expect((done.structuredContent as { outcome: string }).outcome).toBe('executed');
    expect(sandbox.fake.writes().length - before).toBe(1);
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


import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestDigest } from '../src/gate/digest.js';
import { startSandbox, type RunningSandbox } from '../src/sandbox/fake-loopiq.js';
import { SANDBOX_TOKENS } from '../src/sandbox/seed.js';
import { baseEnv, connectCli, runCli, tempHome } from './support/cli.js';

let sandbox: RunningSandbox;
beforeAll(async () => {
  sandbox = await startSandbox();
});
afterAll(() => sandbox.close());

interface Sc {
  outcome: string;
  approvalId: string;
}

describe('approval files written by a same-user process (built CLI, gate key in the real keychain)', () => {
  it('an edited record and a record written from scratch are refused, nothing is sent, and the audit shows both refusals', async () => {
    const home = tempHome();
    const env = baseEnv({ ...home.env, LOOPIQ_API_URL: sandbox.url, LOOPIQ_TOKEN: SANDBOX_TOKENS.alex, LOOPIQ_ORG: 'acme', LOOPIQ_CONFIRM: 'terminal' });
    const { client, transport, close } = await connectCli(['serve'], env);
    const before = sandbox.fake.writes().length;
    const proposed = (await client.callTool({ name: 'loopiq_add_comment', arguments: { id: 'wi_acme_1', body: 'approve me by file' } })).structuredContent as Sc;
    expect(proposed.outcome).toBe('approval_required');
    const dir = join(home.env.LOOPIQ_STATE_DIR, 'approvals');
    const file = join(dir, `${proposed.approvalId}.json`);
    // Nothing that authenticates the record is in the state dir: the key is in the keychain.
    expect(readFileSync(file, 'utf8')).toMatch(/"mac": "[0-9a-f]{64}"/);

    writeFileSync(file, readFileSync(file, 'utf8').replace('"status": "pending"', '"status": "approved"'));
    const edited = await client.callTool({ name: 'loopiq_execute_approved_action', arguments: { approvalId: proposed.approvalId } });
    expect((edited.structuredContent as Sc).outcome).toBe('approval_invalid');

    const real = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    const request = { method: 'POST', path: '/api/v1/work-items/wi_acme_1/comments', body: { body: 'forged' } };
    writeFileSync(join(dir, 'FRGD34.json'), JSON.stringify({ ...real, id: 'FRGD34', status: 'approved', request, digest: requestDigest({ org: 'org_acme', ...request }) }));
    const forged = await client.callTool({ name: 'loopiq_execute_approved_action', arguments: { approvalId: 'FRGD34' } });
    expect((forged.structuredContent as Sc).outcome).toBe('approval_invalid');

    expect(sandbox.fake.writes().length).toBe(before);
    await close();
    expect(transport.stderr).not.toMatch(/no OS keychain reachable/);
    const audit = JSON.parse((await runCli(['audit', '--json'], env)).stdout) as { outcome: string; approvalId: string | null; detail?: string }[];
    expect(audit.filter((l) => l.outcome === 'approval_invalid').map((l) => [l.approvalId, l.detail])).toEqual([
      [proposed.approvalId, expect.stringMatching(/outside loopiq-mcp/)],
      ['FRGD34', expect.stringMatching(/outside loopiq-mcp/)],
    ]);
    const listed = await runCli(['approve'], env);
    expect(listed.stdout).toMatch(/Ignored 2 approval file\(s\) that loopiq-mcp did not write/);
  });
});

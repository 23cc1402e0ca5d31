import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GateKey } from './approval-key.js';
import { AuditLog, type AuditEntry } from './audit.js';

const FILE_ENV = { LOOPIQ_GATE_SECRETS: 'file' };
const logIn = (dir: string) => new AuditLog(dir, new GateKey(dir, FILE_ENV), FILE_ENV);

const entry = (i: number): AuditEntry => ({
  time: new Date(0).toISOString(),
  api: 'https://ai.loopiq.com',
  org: 'org_acme',
  tool: 'loopiq_add_comment',
  digest: `d${i}`,
  channel: 'terminal',
  outcome: 'executed',
  approvalId: null,
  requestId: `r${i}`,
  idempotencyKey: `k${i}`,
  httpStatus: 201,
  resultIds: [`c${i}`],
});

describe('audit log', () => {
  it('keeps the chain intact under concurrent appends from several writers', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'audit-'));
    const writers = [logIn(dir), logIn(dir), logIn(dir)];
    await Promise.all(Array.from({ length: 30 }, (_, i) => writers[i % 3]!.append(entry(i))));
    expect(await writers[0]!.verify()).toEqual({ ok: true, lines: 30 });
  });

  it('detects a removed line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'audit-'));
    const log = logIn(dir);
    for (let i = 0; i < 3; i++) await log.append(entry(i));
    const lines = readFileSync(log.path, 'utf8').trim().split('\n');
    writeFileSync(log.path, `${[lines[0], lines[2]].join('\n')}\n`);
    expect(await log.verify()).toMatchObject({ ok: false, line: 2, reason: expect.stringMatching(/removed or reordered/) as string });
  });
});

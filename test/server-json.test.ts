import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

/** server.json meets what the MCP Registry's schema requires, and the check catches what it forbids. */
const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SCRIPT = join(ROOT, 'scripts', 'server-json.mjs');
interface EnvVar { name: string; isSecret?: boolean; format?: string }
interface Pkg { registryType: string; identifier: string; version: string; fileSha256?: string; transport: { type: string }; environmentVariables: EnvVar[] }
interface Doc { name: string; description: string; version: string; packages: [Pkg, Pkg] }

async function check(doc: Doc) {
  const file = join(mkdtempSync(join(tmpdir(), 'loopiq-server-json-')), 'server.json');
  writeFileSync(file, JSON.stringify(doc));
  return run(process.execPath, [SCRIPT, '--check', file]).then(
    (r) => ({ code: 0, out: r.stdout }),
    (e: unknown) => ({ code: (e as { code: number }).code, out: (e as { stderr: string }).stderr }),
  );
}

describe('server.json for the official MCP Registry', () => {
  const original = JSON.parse(readFileSync(join(ROOT, 'server.json'), 'utf8')) as Doc;
  const fresh = () => structuredClone(original);

  it('passes the check: npm package and bundle, stdio, the variables users may set', async () => {
    expect(await check(fresh())).toMatchObject({ code: 0 });
    expect(original.packages.map((p) => [p.registryType, p.transport.type])).toEqual([['npm', 'stdio'], ['mcpb', 'stdio']]);
  });

  const broken: [string, (d: Doc) => void, RegExp][] = [
    ['a name without a namespace', (d) => (d.name = 'loopiq-mcp'), /name/],
    ['a description over 100 characters', (d) => (d.description = 'x'.repeat(101)), /description/],
    ['a version range', (d) => (d.packages[0].version = '^0.1.0'), /version/],
    ['"latest"', (d) => (d.version = 'latest'), /version/],
    ['a bundle without its SHA-256', (d) => delete d.packages[1].fileSha256, /fileSha256/],
    ['a bundle not on a GitHub/GitLab release', (d) => (d.packages[1].identifier = 'https://example.com/x.mcpb'), /release asset/],
    ['an unknown transport', (d) => (d.packages[0].transport = { type: 'http' }), /transport/],
    ['a token that is not secret', (d) => (d.packages[0].environmentVariables.find((e) => e.name === 'LOOPIQ_TOKEN')!.isSecret = false), /isSecret/],
    ['a variable the bundle sets but npm users are not told of', (d) => (d.packages[0].environmentVariables = d.packages[0].environmentVariables.filter((e) => e.name !== 'LOOPIQ_ORG')), /LOOPIQ_ORG/],
    ['a name that is not package.json mcpName', (d) => (d.name = 'com.example/other'), /mcpName/],
    ['an input with a wrong format', (d) => (d.packages[0].environmentVariables[0]!.format = 'secret'), /format/],
  ];
  it.each(broken)('rejects %s', async (_what, mutate, why) => {
    const doc = fresh();
    mutate(doc);
    const r = await check(doc);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(why);
  });
});

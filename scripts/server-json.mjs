#!/usr/bin/env node
// server.json for the official MCP Registry: check it, or stamp a release into it.
//   node scripts/server-json.mjs --check [file]            what the registry's schema requires, and
//                                                           that it agrees with package.json and the bundle manifest
//   node scripts/server-json.mjs --stamp <bundle.mcpb>      set version and the bundle's SHA-256 (release step)
// The checks follow modelcontextprotocol/registry docs/reference/server-json/server.schema.json
// (2025-09-29): written from what it requires, not a copy of it.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const manifest = JSON.parse(readFileSync(join(root, 'mcpb', 'manifest.json'), 'utf8'));

const isString = (v) => typeof v === 'string';
const isUri = (v) => isString(v) && URL.canParse(v) && /^[a-z][a-z0-9+.-]*:/i.test(v);
// "Version ranges are rejected (e.g., '^1.2.3', '~1.2.3', '>=1.2.3', '1.x', '1.*')", and never 'latest'.
const isExactVersion = (v) => isString(v) && v.length >= 1 && v.length <= 255 && v !== 'latest' && !/^[\^~<>=]|[\s|]|(^|\.)[x*X](\.|$)/.test(v);

export function problems(doc) {
  const out = [];
  const need = (cond, msg) => { if (!cond) out.push(msg); };
  need(doc && typeof doc === 'object' && !Array.isArray(doc), 'server.json must be an object');
  if (out.length) return out;

  // ServerDetail
  need(isUri(doc.$schema) && /\/server\.schema\.json$/.test(doc.$schema), '$schema: the URI of server.schema.json');
  need(isString(doc.name) && doc.name.length >= 3 && doc.name.length <= 200 && /^[a-zA-Z0-9.-]+\/[a-zA-Z0-9._-]+$/.test(doc.name),
    'name: reverse-DNS "namespace/name" with exactly one slash, 3-200 characters');
  need(isString(doc.description) && doc.description.length >= 1 && doc.description.length <= 100, 'description: 1-100 characters');
  need(isExactVersion(doc.version), 'version: an exact version (no range, not "latest")');
  if (doc.title !== undefined) need(isString(doc.title) && doc.title.length >= 1 && doc.title.length <= 100, 'title: 1-100 characters');
  if (doc.websiteUrl !== undefined) need(isUri(doc.websiteUrl), 'websiteUrl: a URI');
  if (doc.repository !== undefined) need(isUri(doc.repository?.url) && isString(doc.repository?.source), 'repository: url (URI) and source are required');
  need(Array.isArray(doc.packages) && doc.packages.length > 0, 'packages: a non-empty array');

  for (const [i, p] of (Array.isArray(doc.packages) ? doc.packages : []).entries()) {
    const at = `packages[${i}]`;
    need(['npm', 'pypi', 'nuget', 'oci', 'mcpb'].includes(p?.registryType), `${at}.registryType: one of npm, pypi, nuget, oci, mcpb`);
    need(isString(p?.identifier) && p.identifier.length >= 1, `${at}.identifier is required`);
    need(isExactVersion(p?.version), `${at}.version: an exact version (no range, not "latest")`);
    const t = p?.transport;
    need(t && ['stdio', 'streamable-http', 'sse'].includes(t.type), `${at}.transport.type: stdio, streamable-http or sse`);
    if (t && t.type !== 'stdio') need(isString(t.url), `${at}.transport.url is required for ${t.type}`);
    if (p?.registryBaseUrl !== undefined) need(isUri(p.registryBaseUrl), `${at}.registryBaseUrl: a URI`);
    if (p?.fileSha256 !== undefined || p?.registryType === 'mcpb') need(isString(p?.fileSha256) && /^[a-f0-9]{64}$/.test(p.fileSha256), `${at}.fileSha256: 64 lowercase hex digits (required for mcpb)`);
    if (p?.registryType === 'mcpb') {
      need(isUri(p.identifier) && /^https:\/\/(github\.com\/[^/]+\/[^/]+\/releases\/download\/|gitlab\.com\/.+\/-\/releases\/)/.test(p.identifier),
        `${at}.identifier: an https URL of a GitHub or GitLab release asset`);
    }
    if (p?.runtimeArguments !== undefined) need(isString(p.runtimeHint), `${at}.runtimeHint should be set when runtimeArguments are`);
    for (const key of ['runtimeArguments', 'packageArguments']) {
      if (p?.[key] === undefined) continue;
      need(Array.isArray(p[key]), `${at}.${key}: an array`);
      for (const [j, a] of (Array.isArray(p[key]) ? p[key] : []).entries()) {
        need(a?.type === 'positional' || a?.type === 'named', `${at}.${key}[${j}].type: positional or named`);
        if (a?.type === 'named') need(isString(a.name), `${at}.${key}[${j}].name is required for a named argument`);
        if (a?.type === 'positional') need(isString(a.value) || isString(a.valueHint), `${at}.${key}[${j}]: a positional argument needs value or valueHint`);
        out.push(...inputProblems(a, `${at}.${key}[${j}]`));
      }
    }
    for (const [j, e] of (Array.isArray(p?.environmentVariables) ? p.environmentVariables : []).entries()) {
      need(isString(e?.name) && /^[A-Za-z_][A-Za-z0-9_]*$/.test(e.name), `${at}.environmentVariables[${j}].name: a variable name`);
      out.push(...inputProblems(e, `${at}.environmentVariables[${j}]`));
    }
    if (p?.environmentVariables !== undefined) need(Array.isArray(p.environmentVariables), `${at}.environmentVariables: an array`);
  }
  return out;
}

/** Input: every field optional, but typed. */
function inputProblems(input, at) {
  const out = [];
  const need = (cond, msg) => { if (!cond) out.push(msg); };
  for (const k of ['description', 'value', 'default', 'placeholder']) if (input?.[k] !== undefined) need(isString(input[k]), `${at}.${k}: a string`);
  for (const k of ['isRequired', 'isSecret', 'isRepeated']) if (input?.[k] !== undefined) need(typeof input[k] === 'boolean', `${at}.${k}: a boolean`);
  if (input?.format !== undefined) need(['string', 'number', 'boolean', 'filepath'].includes(input.format), `${at}.format: string, number, boolean or filepath`);
  if (input?.choices !== undefined) need(Array.isArray(input.choices) && input.choices.every(isString), `${at}.choices: an array of strings`);
  if (input?.variables !== undefined) need(typeof input.variables === 'object' && input.variables !== null, `${at}.variables: an object`);
  return out;
}

/** What ties server.json to this repository: the registry verifies npm ownership through mcpName. */
function consistencyProblems(doc) {
  const out = [];
  const need = (cond, msg) => { if (!cond) out.push(msg); };
  need(pkg.mcpName === doc.name, `package.json "mcpName" (${pkg.mcpName}) must equal server.json name (${doc.name}): the registry checks it on npm`);
  need(doc.version === pkg.version, `version ${doc.version} must equal package.json's ${pkg.version}`);
  const npm = doc.packages?.find((p) => p.registryType === 'npm');
  need(npm?.identifier === pkg.name && npm?.version === pkg.version, 'the npm package must be this package at this version');
  const bundle = doc.packages?.find((p) => p.registryType === 'mcpb');
  need(bundle?.version === pkg.version && bundle?.identifier?.includes(`/v${pkg.version}/`), 'the mcpb package must be this version\'s release asset');
  // Every variable the bundle passes is offered to registry users too, and the token is a secret.
  for (const name of Object.keys(manifest.server.mcp_config.env).filter((n) => n !== 'LOOPIQ_BUNDLE')) {
    need(npm?.environmentVariables?.some((e) => e.name === name), `npm package: environment variable ${name} (the bundle sets it) is missing`);
  }
  need(npm?.environmentVariables?.find((e) => e.name === 'LOOPIQ_TOKEN')?.isSecret === true, 'LOOPIQ_TOKEN must be isSecret');
  return out;
}

const [mode, arg] = process.argv.slice(2);

const file = mode === '--check' && arg ? resolve(arg) : join(root, 'server.json');
const doc = JSON.parse(readFileSync(file, 'utf8'));
if (mode === '--stamp') {
  if (!arg) throw new Error('usage: server-json.mjs --stamp <bundle.mcpb>');
  const sha = createHash('sha256').update(readFileSync(arg)).digest('hex');
  doc.version = pkg.version;
  for (const p of doc.packages) {
    p.version = pkg.version;
    if (p.registryType === 'mcpb') {
      p.identifier = p.identifier.replace(/\/v[^/]+\/([^/]+)$/, `/v${pkg.version}/$1`);
      p.fileSha256 = sha;
    }
  }
  writeFileSync(file, `${JSON.stringify(doc, null, 2)}\n`);
  process.stdout.write(`server.json: version ${pkg.version}, bundle sha256 ${sha}\n`);
} else if (mode === '--check') {
  const found = [...problems(doc), ...consistencyProblems(doc)];
  if (found.length) {
    process.stderr.write(`${file} does not meet the MCP Registry's requirements:\n${found.map((p) => `  - ${p}`).join('\n')}\n`);
    process.exit(1);
  }
  process.stdout.write(`server.json: ok (${doc.name} ${doc.version}, ${doc.packages.length} packages)\n`);
} else {
  process.stderr.write('usage: server-json.mjs --check [file] | --stamp <bundle.mcpb>\n');
  process.exit(2);
}

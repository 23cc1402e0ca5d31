#!/usr/bin/env node
// Builds the MCP Bundle (loopiq-mcp.mcpb) for Claude Desktop with the official mcpb CLI.
// Usage: node scripts/pack-mcpb.mjs [output.mcpb]   (run `npm run build` first; `npm run pack:mcpb` does both)
//
// Bundle layout: manifest.json, server/index.js (mcpb/server.js), dist/ (the built CLI, which
// bundles every dependency except the keychain addon), node_modules/@napi-rs/keyring with the
// prebuilt binary of each platform Desktop runs on, and a package.json that makes dist/ ESM.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = resolve(process.argv[2] ?? join(root, 'loopiq-mcp.mcpb'));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const mcpb = join(root, 'node_modules', '@anthropic-ai', 'mcpb', 'dist', 'cli', 'cli.js');
// Desktop platforms: macOS (both CPUs), Windows x64/arm64, Linux glibc x64/arm64.
const KEYRING_PLATFORMS = ['darwin-arm64', 'darwin-x64', 'win32-x64-msvc', 'win32-arm64-msvc', 'linux-x64-gnu', 'linux-arm64-gnu'];

/** Unpacks an npm tarball's `package/` files into dest (plain files only; no tar binary: Windows has several). */
function extractNpmTarball(tarball, dest) {
  const data = gunzipSync(readFileSync(tarball));
  const field = (block, start, length) => block.subarray(start, start + length).toString('utf8').replace(/\0.*$/s, '');
  for (let offset = 0; offset + 512 <= data.length; ) {
    const header = data.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) break;
    const name = [field(header, 345, 155), field(header, 0, 100)].filter(Boolean).join('/');
    const size = parseInt(field(header, 124, 12).trim() || '0', 8);
    const type = field(header, 156, 1);
    offset += 512;
    const rel = name.replace(/^package\//, '');
    if ((type === '0' || type === '') && rel && !rel.split('/').includes('..')) {
      mkdirSync(dirname(join(dest, rel)), { recursive: true });
      writeFileSync(join(dest, rel), data.subarray(offset, offset + size), { mode: rel.endsWith('.node') ? 0o755 : 0o644 });
    }
    offset += Math.ceil(size / 512) * 512;
  }
}

function fail(message) {
  process.stderr.write(`pack:mcpb: ${message}\n`);
  process.exit(1);
}

if (!existsSync(join(root, 'dist', 'cli.js'))) fail('dist/cli.js is missing: run `npm run build` first (or `npm run pack:mcpb`).');
if (!existsSync(mcpb)) fail('the mcpb CLI is missing: run `npm ci` first.');

const stage = mkdtempSync(join(tmpdir(), 'loopiq-mcpb-'));
try {
  const manifest = JSON.parse(readFileSync(join(root, 'mcpb', 'manifest.json'), 'utf8'));
  manifest.version = pkg.version;
  writeFileSync(join(stage, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  writeFileSync(join(stage, 'package.json'), `${JSON.stringify({ name: pkg.name, version: pkg.version, private: true, type: 'module' }, null, 2)}\n`);
  mkdirSync(join(stage, 'server'));
  cpSync(join(root, 'mcpb', 'server.js'), join(stage, 'server', 'index.js'));
  // Source maps are left out: users never see stack traces, and they double the size.
  cpSync(join(root, 'dist'), join(stage, 'dist'), { recursive: true, filter: (src) => !src.endsWith('.map') });

  const keyring = JSON.parse(readFileSync(join(root, 'node_modules', '@napi-rs', 'keyring', 'package.json'), 'utf8'));
  const modules = join(stage, 'node_modules', '@napi-rs');
  mkdirSync(modules, { recursive: true });
  cpSync(join(root, 'node_modules', '@napi-rs', 'keyring'), join(modules, 'keyring'), { recursive: true });
  // Other platforms' binaries come from the npm registry (`npm pack`), cached between runs.
  const cache = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'loopiq-mcp-ci', `keyring-${keyring.version}`);
  mkdirSync(cache, { recursive: true });
  for (const platform of KEYRING_PLATFORMS) {
    const name = `keyring-${platform}`;
    const installed = join(root, 'node_modules', '@napi-rs', name);
    const dest = join(modules, name);
    if (existsSync(installed) && JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')).version === keyring.version) {
      cpSync(installed, dest, { recursive: true });
      continue;
    }
    const tarball = join(cache, `napi-rs-${name}-${keyring.version}.tgz`);
    if (!existsSync(tarball)) {
      // npm is npm.cmd on Windows, which Node starts only through a shell: quote the one path there.
      const win = process.platform === 'win32';
      execFileSync('npm', ['pack', '--silent', `@napi-rs/${name}@${keyring.version}`, '--pack-destination', win ? `"${cache}"` : cache], {
        stdio: ['ignore', 'ignore', 'inherit'],
        shell: win,
      });
    }
    extractNpmTarball(tarball, dest);
  }

  execFileSync(process.execPath, [mcpb, 'validate', join(stage, 'manifest.json')], { stdio: ['ignore', 'ignore', 'inherit'] });
  rmSync(out, { force: true });
  execFileSync(process.execPath, [mcpb, 'pack', stage, out], { stdio: ['ignore', 'ignore', 'inherit'] });
  const size = statSync(out).size;
  process.stdout.write(`pack:mcpb: ${out} (${(size / 1024 / 1024).toFixed(1)} MB, ${readdirSync(modules).length - 1} keychain binaries)\n`);
} finally {
  rmSync(stage, { recursive: true, force: true });
}

import { defineConfig } from 'tsup';
import { listTools } from './src/server/server.js';
import { ALL_TOOLS } from './src/tools/index.js';

export default defineConfig({
  // compile-cache: loaded by bin/loopiq-mcp.js before the CLI, so the CLI's own chunks are cached.
  entry: { cli: 'src/cli.ts', 'compile-cache': 'src/server/compile-cache.ts' },
  format: ['esm'],
  target: 'node20',
  platform: 'node',
  // Each command is its own chunk, loaded only when that command runs.
  splitting: true,
  clean: true,
  sourcemap: true,
  minify: true,
  // oidc-provider (the sandbox's authorization server) keys its stored models by class name.
  keepNames: true,
  // The tools/list answer (JSON Schemas of every tool) is computed here, once, instead of at every
  // start; `test/e2e-read.test.ts` checks the built answer equals the runtime one.
  define: { __LOOPIQ_TOOL_LIST__: JSON.stringify(listTools(ALL_TOOLS)) },
  // Bundle dependencies: resolving and compiling hundreds of small ESM files is most of a cold
  // start. The keychain addon stays a real import so its prebuilt binary resolves.
  noExternal: [/^(?!@napi-rs\/keyring)/],
  external: ['@napi-rs/keyring'],
  // Bundled CommonJS dependencies still call require().
  banner: { js: "import { createRequire as __loopiqCreateRequire } from 'node:module'; const require = __loopiqCreateRequire(import.meta.url);" },
});

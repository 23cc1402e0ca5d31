import { rmSync } from 'node:fs';
import { defineConfig, type Options } from 'tsup';
import { listTools } from './src/server/server.js';
import { ALL_TOOLS } from './src/tools/index.js';

// Two builds write into dist/ at once: clean it here, once, before either starts.
rmSync('dist', { recursive: true, force: true });

const common: Options = {
  target: 'node20',
  platform: 'node',
  sourcemap: true,
  minify: true,
  // oidc-provider (the sandbox's authorization server) keys its stored models by class name.
  keepNames: true,
  // The tools/list answer (JSON Schemas of every tool) is computed here, once, instead of at every
  // start; `test/e2e-read.test.ts` checks the built answer equals the runtime one.
  define: { __LOOPIQ_TOOL_LIST__: JSON.stringify(listTools(ALL_TOOLS)) },
  // Bundle dependencies: resolving and compiling hundreds of small files is most of a cold start.
  // The keychain addon stays a real import so its prebuilt binary resolves.
  noExternal: [/^(?!@napi-rs\/keyring)/],
  external: ['@napi-rs/keyring'],
};

const esmRequire = { js: "import { createRequire as __loopiqCreateRequire } from 'node:module'; const require = __loopiqCreateRequire(import.meta.url);" };

export default defineConfig([
  {
    ...common,
    // dist/cli.js, the entry: decides between serve.cjs and main.js. One small file, nothing shared.
    entry: { cli: 'src/cli.ts' },
    format: ['esm'],
    splitting: false,
  },
  {
    ...common,
    // dist/serve.cjs: everything a `serve` start needs in one CommonJS file, so that cli.ts can
    // compile it through the V8 code cache (src/launch/code-cache.ts); ESM cannot take one.
    // Function names are not kept: nothing on this path reads them, and keeping them costs a call per
    // function at start.
    entry: { serve: 'src/serve-main.ts' },
    format: ['cjs'],
    splitting: false,
    keepNames: false,
  },
  {
    ...common,
    // dist/main.js: every other command, each its own chunk, loaded only when that command runs.
    entry: { main: 'src/main.ts' },
    format: ['esm'],
    splitting: true,
    // Bundled CommonJS dependencies still call require().
    banner: esmRequire,
  },
]);

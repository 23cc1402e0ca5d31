import type { Options } from 'tsup';
import { listTools } from './src/server/server.js';
import { ALL_TOOLS } from './src/tools/index.js';

/** What every build shares; bench/tsup.bench.ts builds the baseline with it too. */
export const common: Options = {
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

export const esmRequire = { js: "import { createRequire as __loopiqCreateRequire } from 'node:module'; const require = __loopiqCreateRequire(import.meta.url);" };


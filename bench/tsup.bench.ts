import { defineConfig, type Options } from 'tsup';
import product from '../tsup.config.js';

const { entry: _e, define: _d, clean: _c, sourcemap: _s, ...same } = product as Options;

export default defineConfig([
  // The baseline server, bundled exactly as loopiq-mcp is (minified, split, same target and banner).
  { ...same, entry: { 'baseline-server': 'bench/baseline-server.ts' }, outDir: '.bench/baseline', clean: true },
  // The harness itself: how it is built does not enter any figure.
  { entry: { run: 'bench/run.ts', 'fake-api': 'bench/fake-api.ts' }, format: ['esm'], platform: 'node', target: 'node20', outDir: '.bench/harness', clean: true, splitting: false, external: ['undici'] },
]);

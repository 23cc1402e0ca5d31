import { defineConfig } from 'tsup';
import { common, esmRequire } from '../tsup.shared.js';

const { define: _d, sourcemap: _s, ...same } = common;

export default defineConfig([
  // The baseline server, bundled as loopiq-mcp's ESM build is (minified, undici split out and loaded
  // on first use, same target and banner). Not the code cache: that is a feature of the product.
  { ...same, entry: { 'baseline-server': 'bench/baseline-server.ts' }, format: ['esm'], splitting: true, banner: esmRequire, outDir: '.bench/baseline', clean: true },
  // The harness itself: how it is built does not enter any figure.
  { entry: { run: 'bench/run.ts', 'fake-api': 'bench/fake-api.ts' }, format: ['esm'], platform: 'node', target: 'node20', outDir: '.bench/harness', clean: true, splitting: false, external: ['undici'] },
]);

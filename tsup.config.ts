import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { cli: 'src/cli.ts' },
  format: ['esm'],
  target: 'node20',
  platform: 'node',
  splitting: true,
  clean: true,
  sourcemap: true,
  // Native addon: must stay a real package import so its prebuilt binary resolves.
  external: ['@napi-rs/keyring'],
});

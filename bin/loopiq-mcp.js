#!/usr/bin/env node
// Set before anything else loads (see README, "Performance").
import { setFlagsFromString } from 'node:v8';
import { enableCompileCache } from '../dist/compile-cache.js';

// Memory after work: a server spends its life waiting and does little CPU per call, yet V8 keeps
// what its optimizing compilers and a grown young generation took (~50 MB after a few hundred
// calls, never given back). Young generation: stays at its initial size. JS: baseline compiler
// (Sparkplug) at most (`--max-opt` alone is not enough once V8 is running on Node 24). WebAssembly
// (undici's HTTP parser): Liftoff only.
const flags = ['--semi-space-growth-factor=1', '--max-opt=1', '--no-maglev', '--no-turbofan', '--liftoff-only', '--no-wasm-dynamic-tiering', '--no-wasm-tier-up'];
for (const flag of flags) setFlagsFromString(flag);
enableCompileCache();
await import('../dist/cli.js');

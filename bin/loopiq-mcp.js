#!/usr/bin/env node
// Before anything else loads (see README, "Performance").
import { enableCompileCache } from '../dist/compile-cache.js';

enableCompileCache();
await import('../dist/cli.js');

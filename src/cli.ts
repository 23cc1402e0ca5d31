/**
 * Entry point. What clients launch — `serve` with plain options — is parsed here by hand and runs
 * from dist/serve.cjs through the V8 code cache (launch/code-cache.ts), loading neither commander
 * nor any other command. Everything else (help, version, other commands, anything unusual) goes
 * to commander (main.ts); so does a start whose serve.cjs cannot be loaded (running from sources).
 */
import { fileURLToPath } from 'node:url';
import { loadCached } from './launch/code-cache.js';
import { parseServeFastPath } from './serve-argv.js';

type ServeMain = typeof import('./serve-main.js');

function loadServe(): { exports: ServeMain; codeCache: import('./launch/code-cache.js').CodeCache } | undefined {
  try {
    const { exports, codeCache } = loadCached(fileURLToPath(new URL('./serve.cjs', import.meta.url)));
    return { exports: exports as ServeMain, codeCache };
  } catch {
    return undefined;
  }
}

const serveOpts = parseServeFastPath(process.argv.slice(2));
const serve = serveOpts && loadServe();
if (serveOpts && serve) await serve.exports.serveMain(serveOpts, serve.codeCache);
// Kept out of this file's bundle (a computed specifier): dist/main.js and its chunks load only here.
else await ((await import(new URL('./main.js', import.meta.url).href)) as typeof import('./main.js')).main(process.argv);

/**
 * node:crypto, loaded on first use. Loading it costs ~5 ms, and a server start does not need it
 * before its first call: every module on the `serve` path takes it from here instead of importing
 * it. (`process.getBuiltinModule`: Node >= 20.16.)
 */
let loaded: typeof import('node:crypto') | undefined;

export function nodeCrypto(): typeof import('node:crypto') {
  return (loaded ??= process.getBuiltinModule('node:crypto'));
}

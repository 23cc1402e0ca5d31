/**
 * JSON.stringify typed as it behaves: undefined (not a string, whatever the lib type says) for
 * undefined, a function, a symbol, or a toJSON that returns one of those.
 */
export const stringifyOrUndefined = (value: unknown, space?: number): string | undefined => JSON.stringify(value, null, space);

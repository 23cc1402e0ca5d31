/**
 * JSON.stringify typed as it behaves: undefined (not a string, whatever the lib type says) for
 * undefined, a function, a symbol, or a toJSON that returns one of those.
 */
export const stringifyOrUndefined = (value: unknown, space?: number): string | undefined => JSON.stringify(value, null, space);

/**
 * JSON text that can sit inside the `<loopiq-data>` fence: every `<` written \u003c, so no text in
 * it can close the fence; still the same JSON value.
 */
export const fenceSafe = (json: string): string => json.replace(/</g, '\\u003c');

/**
 * `target[key] = value` as an own property, whatever the key: a plain assignment of `__proto__`
 * (a key JSON.parse happily creates) would replace the copy's prototype instead, losing the key
 * and letting inherited fields appear (e.g. an `organizationId` the record does not have).
 */
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  // Every other key of a plain object is a data property: assignment is the same, and ~10× cheaper.
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

/** A JSON object or array spelled as text (trimmed), parsed; undefined when the text is not one. */
export function parseJsonContainer(text: string): unknown {
  const t = text.trim();
  if (!(t.startsWith('{') || t.startsWith('['))) return undefined;
  try {
    return JSON.parse(t);
  } catch {
    return undefined;
  }
}

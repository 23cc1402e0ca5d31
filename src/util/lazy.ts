/**
 * A value built on first use, then kept. For zod schemas above all: building them at import costs
 * every start, and most are needed only by some calls.
 */
export function lazy<T>(build: () => T): () => T {
  let built: T | undefined;
  return () => (built ??= build());
}

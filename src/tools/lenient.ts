import { z } from 'zod';

/**
 * Some clients double-serialise object and array arguments ("[\"a\"]" instead of ["a"]).
 * Accept a JSON string when it parses to the expected shape; everything else stays strict.
 */
export function jsonArray<T extends z.ZodType>(schema: T) {
  return z.preprocess(parseIfJsonString, schema);
}
export const jsonObject = jsonArray;

function parseIfJsonString(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const t = value.trim();
  if (!(t.startsWith('[') || t.startsWith('{'))) return value;
  try {
    return JSON.parse(t);
  } catch {
    return value;
  }
}

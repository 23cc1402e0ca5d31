import { z } from 'zod';
import { parseJsonContainer } from '../util/json.js';

/**
 * Some clients double-serialise object and array arguments ("[\"a\"]" instead of ["a"]).
 * Every object/array parameter accepts a JSON string that parses to the expected shape;
 * everything else stays strict. The advertised JSON Schema is unchanged.
 */
export function lenientShape(shape: z.ZodRawShape): z.ZodRawShape {
  return Object.fromEntries(Object.entries(shape).map(([k, v]) => [k, lenient(v as z.ZodType)]));
}

function lenient(schema: z.ZodType): z.ZodType {
  const def = (schema as unknown as { def: { type: string; innerType?: z.ZodType } }).def;
  if (def.type === 'optional' && def.innerType) {
    const inner = lenient(def.innerType);
    if (inner === def.innerType) return schema;
    return schema.description ? inner.optional().describe(schema.description) : inner.optional();
  }
  if (def.type === 'array' || def.type === 'object' || def.type === 'record') return z.preprocess(parseIfJsonString, schema);
  return schema;
}

function parseIfJsonString(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const parsed = parseJsonContainer(value);
  return parsed === undefined ? value : parsed;
}

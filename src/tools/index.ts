import { LoopIqError } from '../api/errors.js';
import type { ToolDef } from './define.js';
import { READ_TOOLS } from './read-tools.js';
import { WRITE_TOOLS } from './write-tools.js';

export const ALL_TOOLS: ToolDef[] = [...READ_TOOLS, ...WRITE_TOOLS];

export interface ToolFilter {
  /** Allow-list (comma-separated names); deny wins. */
  tools?: string;
  excludeTools?: string;
  readOnly?: boolean;
}

/** Unknown names refuse to start: a typo must not silently widen or narrow what the model can do. */
export function selectTools(filter: ToolFilter, all: ToolDef[] = ALL_TOOLS): ToolDef[] {
  const known = new Set(all.map((t) => t.name));
  const parse = (flag: string, value?: string) => {
    if (value === undefined) return undefined;
    const names = value.split(',').map((s) => s.trim()).filter(Boolean);
    const unknown = names.filter((n) => !known.has(n));
    if (unknown.length) {
      throw new LoopIqError('config_invalid', `${flag}: unknown tool name(s): ${unknown.join(', ')}.`, `Known tools: ${[...known].join(', ')}.`);
    }
    return new Set(names);
  };
  const allow = parse('--tools', filter.tools);
  const deny = parse('--exclude-tools', filter.excludeTools);
  return all.filter((t) => (!allow || allow.has(t.name)) && !deny?.has(t.name) && !(filter.readOnly && t.write));
}

import { nodeCrypto } from '../util/node-crypto.js';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { canonicalJson } from '../gate/digest.js';
import { readJsonFile, writeFileAtomic } from '../config/files.js';
import { log } from '../util/log.js';
import { sanitizeText } from '../util/untrusted.js';
import type { HostedMcp } from './hosted-mcp.js';
import { GATE_PROPERTIES, ORG_PROPERTIES, withoutKeys } from './relay.js';

export interface UpstreamFilter {
  /** Allow-list of upstream tool names (comma-separated); deny wins. */
  tools?: string;
  excludeTools?: string;
  readOnly?: boolean;
}

/** Fail closed: only a tool that says so is a read. */
export const isReadOnly = (t: Pick<Tool, 'annotations'>) => t.annotations?.readOnlyHint === true;

type Props = Record<string, { type?: unknown } & Record<string, unknown>>;
const propsOf = (t: Tool): Props => ((t.inputSchema as { properties?: Props }).properties ?? {});

/** What the gate may use of a tool's input schema. */
export function gateAbilities(t: Tool) {
  const p = propsOf(t);
  return { hasDryRun: p.dryRun?.type === 'boolean', hasIdempotencyKey: 'idempotencyKey' in p };
}

/** The model's arguments with any org or gate property removed, and the schema's org properties set to the pinned org. */
export function pinArguments(t: Tool, args: Record<string, unknown>, org: string): Record<string, unknown> {
  const out = withoutKeys(args, [...ORG_PROPERTIES, ...GATE_PROPERTIES]);
  const p = propsOf(t);
  for (const k of ORG_PROPERTIES) if (k in p) out[k] = org;
  return out;
}

const NEEDS_APPROVAL = ' [loopiq-mcp: runs only after a human approves the exact call.]';

/** The tool as the model sees it: no org or gate properties, no output schema (our result wraps the endpoint's). */
export function visibleTool(t: Tool): Tool {
  const schema = structuredClone(t.inputSchema) as Tool['inputSchema'] & { properties?: Props; required?: string[] };
  const hidden = new Set<string>([...ORG_PROPERTIES, ...GATE_PROPERTIES]);
  if (schema.properties) schema.properties = Object.fromEntries<Props[string]>(Object.entries(schema.properties).filter(([k]) => !hidden.has(k)));
  if (Array.isArray(schema.required)) schema.required = schema.required.filter((k) => !hidden.has(k));
  // The endpoint's own words, but without characters that could hide instructions from a reviewer.
  const description = sanitizeText(t.description ?? '') + (isReadOnly(t) ? '' : NEEDS_APPROVAL);
  return {
    name: t.name,
    ...(t.title ? { title: sanitizeText(t.title) } : {}),
    description,
    inputSchema: schema,
    ...(t.annotations ? { annotations: t.annotations } : {}),
  };
}

/**
 * The endpoint's tools: served at once from the per-endpoint disk cache, refreshed in the
 * background. Decisions (is it a read? may it preview?) are only ever taken on the live list.
 */
export class UpstreamCatalog {
  private live?: Tool[];
  private cached?: Tool[];
  private refreshing: Promise<Tool[]> | undefined;
  private lastVisible = '';
  /** The visible list changed (relay `notifications/tools/list_changed`). */
  onChange?: () => void;
  readonly file: string;

  constructor(
    private readonly mcp: HostedMcp,
    stateDir: string,
    private readonly filter: UpstreamFilter,
  ) {
    this.file = join(stateDir, 'upstream-tools', `${nodeCrypto().createHash('sha256').update(mcp.url.href).digest('hex').slice(0, 16)}.json`);
  }

  async loadCache(): Promise<void> {
    const saved = await readJsonFile(this.file, (raw) => raw as { url?: string; tools?: unknown }).catch(() => undefined);
    if (saved?.url === this.mcp.url.href && Array.isArray(saved.tools)) {
      this.cached = saved.tools.filter((t): t is Tool => !!t && typeof (t as Tool).name === 'string' && typeof (t as Tool).inputSchema === 'object');
    }
    this.lastVisible = canonicalJson(this.visible());
  }

  get hasLive() {
    return this.live !== undefined;
  }

  private allowed(name: string): boolean {
    const list = (v?: string) => (v === undefined ? undefined : new Set(v.split(',').map((s) => s.trim()).filter(Boolean)));
    const allow = list(this.filter.tools);
    return (!allow || allow.has(name)) && !list(this.filter.excludeTools)?.has(name);
  }

  private served(t: Tool) {
    return this.allowed(t.name) && !(this.filter.readOnly && !isReadOnly(t));
  }

  /** The tools the model sees now (live, else cached, else none). */
  visible(): Tool[] {
    return (this.live ?? this.cached ?? []).filter((t) => this.served(t)).map(visibleTool);
  }

  /** Fetch the live list; save it; tell `onChange` when what the model sees changed. One at a time. */
  refresh(signal?: AbortSignal): Promise<Tool[]> {
    this.refreshing ??= (async () => {
      try {
        const tools = await this.mcp.listTools(signal);
        this.live = tools;
        const unknown = [...(this.filter.tools?.split(',') ?? []), ...(this.filter.excludeTools?.split(',') ?? [])].map((s) => s.trim()).filter((n) => n && !tools.some((t) => t.name === n));
        if (unknown.length) log.warn(`--tools/--exclude-tools name(s) the endpoint does not have: ${unknown.join(', ')}`);
        await mkdir(join(this.file, '..'), { recursive: true, mode: 0o700 });
        await writeFileAtomic(this.file, JSON.stringify({ url: this.mcp.url.href, savedAt: new Date().toISOString(), tools })).catch((err: unknown) => { log.debug(`could not save the tool list cache: ${String(err)}`); },
        );
        const now = canonicalJson(this.visible());
        if (now !== this.lastVisible) {
          this.lastVisible = now;
          this.onChange?.();
        }
        return tools;
      } finally {
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }

  /** Every tool of the endpoint, filters aside (fetching the list if this run has none yet). */
  async liveAll(signal?: AbortSignal): Promise<Tool[]> {
    return this.live ?? (await this.refresh(signal));
  }

  /** The live definition of a served tool (fetching the list if this run has none yet). */
  async liveTool(name: string, signal?: AbortSignal): Promise<Tool | undefined> {
    const tools = await this.liveAll(signal);
    const t = tools.find((x) => x.name === name);
    return t && this.served(t) ? t : undefined;
  }
}

import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { readJsonFile, writeFileAtomic } from './files.js';

const SelectedOrg = z.object({ id: z.string().min(1), slug: z.string(), name: z.string() });
export type SelectedOrg = z.infer<typeof SelectedOrg>;

const ConfigShape = z
  .object({
    apiUrl: z.url().optional(),
    /** LoopIQ's hosted MCP endpoint (`login --mcp-url`): `serve` relays it (DESIGN.md §3b). */
    mcpUrl: z.url().optional(),
    /** The selected organization per API origin, so staging and production never mix. */
    organizations: z.record(z.string(), SelectedOrg).default({}),
  })
  .strict();
export type ConfigFileData = z.infer<typeof ConfigShape>;

/** `config.json` in the config dir. Never holds a token. */
export class ConfigFile {
  readonly path: string;
  private cache: { mtimeMs: number; size: number; data: ConfigFileData } | undefined;

  constructor(dir: string) {
    this.path = join(dir, 'config.json');
  }

  async read(): Promise<ConfigFileData> {
    return (await readJsonFile(this.path, (raw) => ConfigShape.parse(raw))) ?? { organizations: {} };
  }

  /** Cheap re-read for running servers: parses only when the file changed. */
  async readFresh(): Promise<ConfigFileData> {
    let s;
    try {
      s = await stat(this.path);
    } catch {
      this.cache = undefined;
      return { organizations: {} };
    }
    if (this.cache && this.cache.mtimeMs === s.mtimeMs && this.cache.size === s.size) return this.cache.data;
    const data = await this.read();
    this.cache = { mtimeMs: s.mtimeMs, size: s.size, data };
    return data;
  }

  async update(change: (data: ConfigFileData) => void): Promise<ConfigFileData> {
    const data = await this.read();
    change(data);
    await writeFileAtomic(this.path, `${JSON.stringify(data, null, 2)}\n`);
    return data;
  }
}

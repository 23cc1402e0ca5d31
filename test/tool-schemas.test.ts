import { describe, expect, it } from 'vitest';
import { connectInProcess } from './support/in-process.js';

describe('tool surface', () => {
  it('matches the checked-in snapshot (names, schemas, annotations)', async () => {
    const c = await connectInProcess({ org: 'acme' });
    const { tools } = await c.client.listTools();
    await c.close();
    await expect(JSON.stringify(tools, null, 2) + '\n').toMatchFileSnapshot('./__snapshots__/tools.json');
  });

  it('every tool declares a title and all four annotations explicitly, and takes no organization', async () => {
    const c = await connectInProcess({ org: 'acme' });
    const { tools } = await c.client.listTools();
    await c.close();
    for (const t of tools) {
      expect(t.title, t.name).toBeTruthy();
      for (const hint of ['readOnlyHint', 'destructiveHint', 'idempotentHint', 'openWorldHint'] as const) {
        expect(typeof t.annotations?.[hint], `${t.name}.${hint}`).toBe('boolean');
      }
      expect(Object.keys(t.inputSchema.properties ?? {}).filter((k) => /org/i.test(k)), t.name).toEqual([]);
      expect(t.outputSchema, t.name).toBeTruthy();
    }
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pinDeep, relayResult, WITHHELD } from './relay.js';
import { pinArguments, visibleTool } from './upstream-catalog.js';

const ORG = 'org_acme';
const owner = fc.constantFrom(ORG, 'org_other', undefined);
const record = fc.letrec((tie) => ({
  node: fc.oneof(
    { depthSize: 'small' },
    fc.string(),
    fc.integer(),
    fc.array(tie('node'), { maxLength: 4 }),
    fc.record({ organizationId: owner, payload: tie('node') }, { requiredKeys: ['payload'] }),
  ),
})).node;

function foreignLeft(v: unknown): boolean {
  if (Array.isArray(v)) return v.some(foreignLeft);
  if (v && typeof v === 'object') {
    if ('organizationId' in v && (v).organizationId !== ORG) return true;
    return Object.values(v).some(foreignLeft);
  }
  return false;
}

describe('upstream results and schemas', () => {
  it('no object of another organization survives pinDeep, at any depth', () => {
    fc.assert(
      fc.property(record, (v) => {
        const { value, withheld } = pinDeep(v, ORG);
        expect(foreignLeft(value)).toBe(false);
        if (foreignLeft(v)) expect(withheld).toBeGreaterThan(0);
      }),
    );
  });

  it('a single foreign record is replaced whole; text JSON is checked like structured content', () => {
    expect(pinDeep({ organizationId: 'org_other', secret: 1 }, ORG)).toEqual({ value: WITHHELD, withheld: 1 });
    const r = relayResult({ content: [{ type: 'text', text: JSON.stringify({ items: [{ organizationId: 'org_other', t: 'x' }, { organizationId: ORG, t: 'y\u200B' }] }) }] }, ORG);
    expect(r.data).toEqual({ content: { items: [{ organizationId: ORG, t: 'y' }] } });
    expect(r.withheld).toBe(1);
  });

  it('org and gate properties are hidden from the model and filled with the pinned org, whatever the model sent', () => {
    const tool = {
      name: 't',
      inputSchema: { type: 'object' as const, properties: { tenantId: { type: 'string' }, q: { type: 'string' }, dryRun: { type: 'boolean' }, idempotencyKey: { type: 'string' } }, required: ['tenantId', 'q'] },
    };
    expect(visibleTool(tool).inputSchema).toEqual({ type: 'object', properties: { q: { type: 'string' } }, required: ['q'] });
    expect(pinArguments(tool, { q: 'x', tenantId: 'org_other', orgId: 'org_other', dryRun: false, idempotencyKey: 'mine' }, ORG)).toEqual({ q: 'x', tenantId: ORG });
  });
});

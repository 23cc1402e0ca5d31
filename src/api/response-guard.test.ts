import { describe, expect, it } from 'vitest';
import { jsonShapeProblem, pageProblem, WITHHELD, withholdForeign } from './response-guard.js';

describe('shape limits before parsing', () => {
  it('counts nesting and values outside strings only, and stops at the first limit', () => {
    const limits = { maxDepth: 3, maxValues: 10 };
    expect(jsonShapeProblem('{"a":[[1]]}', limits)).toBeUndefined();
    expect(jsonShapeProblem('{"a":[[[1]]]}', limits)).toBe('nests deeper than 3 levels');
    expect(jsonShapeProblem('{"a":"[[[[{{{{\\"]]]"}', limits)).toBeUndefined();
    expect(jsonShapeProblem(`[${Array(11).fill(1).join(',')}]`, limits)).toBe('holds more than 10 values');
    expect(jsonShapeProblem('not json at all', limits)).toBeUndefined(); // left for JSON.parse to report
  });

  it('a page longer than the contract allows', () => {
    expect(pageProblem({ items: Array(101) })).toBe('is a page of 101 items (the contract allows 100)');
    expect(pageProblem({ items: Array(100) })).toBeUndefined();
    expect(pageProblem([1, 2])).toBeUndefined();
    expect(pageProblem(null)).toBeUndefined();
  });
});

describe('withholding records of another organization', () => {
  it('removes them from arrays, replaces them in objects, at any depth, and counts them', () => {
    const data = { organizationId: 'o1', list: [{ organizationId: 'o2' }, { organizationId: 'o1', inner: [[{ organizationId: 'o3', x: 1 }]] }], one: { organizationId: 'o2' }, keep: { organizationId: 'o1' } };
    expect(withholdForeign(data, 'o1')).toEqual({ withheld: 3, foreignRoot: false });
    expect(data).toEqual({ organizationId: 'o1', list: [{ organizationId: 'o1', inner: [[]] }], one: WITHHELD, keep: { organizationId: 'o1' } });
  });

  it('fails closed: a missing-but-present (null) or non-string organizationId is foreign', () => {
    const data = { items: [{ organizationId: null }, { organizationId: 7 }, { id: 'no org field' }] };
    expect(withholdForeign(data, 'o1').withheld).toBe(2);
    expect(data.items).toEqual([{ id: 'no org field' }]);
  });

  it('a foreign record at the top is reported, not edited', () => {
    const data = { organizationId: 'o2', title: 'x' };
    expect(withholdForeign(data, 'o1')).toEqual({ withheld: 1, foreignRoot: true });
  });

  it('walks nesting deeper than any call stack', () => {
    let deep: unknown = [{ organizationId: 'o2' }, { organizationId: 'o1' }];
    for (let i = 0; i < 100_000; i++) deep = { d: deep };
    expect(withholdForeign(deep, 'o1')).toEqual({ withheld: 1, foreignRoot: false });
  });
});

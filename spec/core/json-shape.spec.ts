/**
 * The shape scan that runs before `JSON.parse` on what an identity provider answers: it
 * counts nesting, members and values outside strings only, in one pass.
 */
import assert from 'node:assert/strict';
import { jsonShapeProblem, JsonShapeLimits } from '../../src/core/json-shape';

const LIMITS: JsonShapeLimits = { maxDepth: 3, maxMembers: 3, maxElements: 4, maxValues: 20 };
const scan = (text: string, limits = LIMITS) => jsonShapeProblem(Buffer.from(text), limits);

describe('core: the JSON shape scan', () => {
  it('within the limits: undefined; one level deeper, one member or element more: the problem', () => {
    assert.equal(scan('{"a":[[1]],"b":2,"c":3}'), undefined);
    assert.equal(scan('{"a":[[[1]]]}'), 'it nests deeper than 3 levels');
    assert.equal(scan('{"a":1,"b":2,"c":3,"d":4}'), 'an object of it has more than 3 members');
    assert.equal(scan('[1,2,3,4]'), undefined);
    assert.equal(scan('[1,2,3,4,5]'), 'an array of it has more than 4 elements');
    assert.equal(scan('[[1,2],[3,4],[5,6],[7,8]]', { ...LIMITS, maxValues: 8 }), 'it holds more than 8 values');
  });

  it('brackets and commas inside strings do not count, escaped quotes included', () => {
    assert.equal(scan('{"a":"[[[[,,,,{{{{"}'), undefined);
    assert.equal(scan('{"a":"\\"[[[[,,,,"}'), undefined);
    assert.equal(scan('{"a\\\\":[[[1]]]}'), 'it nests deeper than 3 levels'); // the string ends at \\"
    assert.equal(scan('{"\\u0022[[[[":1}'), undefined);
  });

  it('multi-byte UTF-8 in strings is skipped like any other character', () => {
    assert.equal(scan('{"山田":"Ł[[[[[","é":1}'), undefined);
  });

  it('a document that ends, or is no JSON, stops the scan: JSON.parse refuses what follows', () => {
    assert.equal(scan('{} [[[[[[[[[['), undefined);
    assert.equal(scan(']]]]]]'), undefined);
    assert.equal(scan('"unterminated [[[[[['), undefined);
    assert.equal(scan(',,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,'), 'it holds more than 20 values');
  });

  it('1 MiB of nested brackets is refused at the 17th, never walked', () => {
    const deep = Buffer.from('['.repeat(1 << 20));
    // the shortest of five: a walk of the megabyte is in every run, a loaded machine's pauses are not
    const times: number[] = [];
    for (let run = 0; run < 5; run += 1) {
      const started = performance.now();
      assert.equal(jsonShapeProblem(deep, { maxDepth: 16, maxMembers: 1000, maxElements: 1000, maxValues: 20_000 }), 'it nests deeper than 16 levels');
      times.push(performance.now() - started);
    }
    assert.ok(Math.min(...times) < 20, `${times.map((t) => t.toFixed(1))} ms`);
  });
});

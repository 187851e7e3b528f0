import assert from 'node:assert/strict';
import { TierMap } from '../../src/store/tier-map';

const entry = (until: number, name = '') => ({ until, name });

describe('TierMap: the local tier of the tiered store', () => {
  it('answers an entry until its deadline and drops it after', () => {
    const map = new TierMap<ReturnType<typeof entry>>(10);
    map.set('a', entry(1000, 'a'));
    assert.equal(map.live('a', 999)?.name, 'a');
    assert.equal(map.live('a', 1000), undefined);
    assert.equal(map.size, 0);
  });

  it('never holds more than max entries', () => {
    const map = new TierMap<ReturnType<typeof entry>>(100);
    for (let i = 0; i < 10_000; i += 1) map.set(`k${i}`, entry(Infinity));
    assert.equal(map.size, 100);
  });

  it('evicts the oldest entry not used since it was stored, keeping a used one (second chance)', () => {
    const map = new TierMap<ReturnType<typeof entry>>(3);
    map.set('a', entry(Infinity));
    map.set('b', entry(Infinity));
    map.set('c', entry(Infinity));
    assert.ok(map.live('a', 0)); // a is hot
    map.set('d', entry(Infinity)); // full: a gets a second chance, b (never read) goes
    assert.deepEqual(['a', 'b', 'c', 'd'].map((k) => map.live(k, 0) !== undefined), [true, false, true, true]);
  });

  it('evicts a used entry once it has had its second chance and stayed unused', () => {
    const map = new TierMap<ReturnType<typeof entry>>(2);
    map.set('a', entry(Infinity));
    map.set('b', entry(Infinity));
    map.live('a', 0);
    map.set('c', entry(Infinity)); // a moves to the back (flag cleared), b goes: [a, c]
    map.set('d', entry(Infinity)); // a unused since its second chance: a goes: [c, d]
    assert.deepEqual(['a', 'b', 'c', 'd'].map((k) => map.live(k, 0) !== undefined), [false, false, true, true]);
  });

  it('evicts even when every entry was used (one full pass at most)', () => {
    const map = new TierMap<ReturnType<typeof entry>>(3);
    for (const k of ['a', 'b', 'c']) map.set(k, entry(Infinity));
    for (const k of ['a', 'b', 'c']) map.live(k, 0);
    map.set('d', entry(Infinity));
    assert.equal(map.size, 3);
    assert.ok(map.live('d', 0));
  });
});

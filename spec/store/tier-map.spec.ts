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

  it('evicts the least recently used entry, keeping one read since (lru-cache)', () => {
    const map = new TierMap<ReturnType<typeof entry>>(3);
    map.set('a', entry(Infinity));
    map.set('b', entry(Infinity));
    map.set('c', entry(Infinity));
    assert.ok(map.live('a', 0)); // a is hot
    map.set('d', entry(Infinity)); // full: b (never read) is the least recently used and goes
    assert.deepEqual(['a', 'b', 'c', 'd'].map((k) => map.live(k, 0) !== undefined), [true, false, true, true]);
  });

  it('evicts a used entry once others were used after it', () => {
    const map = new TierMap<ReturnType<typeof entry>>(2);
    map.set('a', entry(Infinity));
    map.set('b', entry(Infinity));
    map.live('a', 0);
    map.set('c', entry(Infinity)); // b goes: [a, c]
    map.set('d', entry(Infinity)); // a is now the least recently used: a goes: [c, d]
    assert.deepEqual(['a', 'b', 'c', 'd'].map((k) => map.live(k, 0) !== undefined), [false, false, true, true]);
  });

  it('evicts even when every entry was used', () => {
    const map = new TierMap<ReturnType<typeof entry>>(3);
    for (const k of ['a', 'b', 'c']) map.set(k, entry(Infinity));
    for (const k of ['a', 'b', 'c']) map.live(k, 0);
    map.set('d', entry(Infinity));
    assert.equal(map.size, 3);
    assert.ok(map.live('d', 0));
  });

  it('reads no clock and arms no timer on a get, a set or an expiry (the deadline is in the value)', () => {
    const map = new TierMap<ReturnType<typeof entry>>(200);
    const calls = { performance: 0, date: 0, timeout: 0 };
    const { now } = performance;
    const dateNow = Date.now;
    const timeout = globalThis.setTimeout;
    performance.now = () => { calls.performance += 1; return now.call(performance); };
    Date.now = () => { calls.date += 1; return dateNow(); };
    globalThis.setTimeout = ((...args: Parameters<typeof setTimeout>) => { calls.timeout += 1; return timeout(...args); }) as typeof setTimeout;
    try {
      for (let i = 0; i < 200; i += 1) map.set(`k${i}`, entry(i < 100 ? Infinity : 0));
      for (let i = 0; i < 200; i += 1) map.live(`k${i}`, 1);
    } finally {
      performance.now = now;
      Date.now = dateNow;
      globalThis.setTimeout = timeout;
    }
    assert.deepEqual(calls, { performance: 0, date: 0, timeout: 0 });
    assert.equal(map.size, 100); // the expired half was dropped on read, the live half kept
  });
});

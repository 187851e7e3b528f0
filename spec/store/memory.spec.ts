import assert from 'node:assert/strict';
import { createAccessToken, JwtManager, MemoryTokenStore, RevokedTokenError, revokeToken, TokenStoreError, unrevokeToken } from '../../src';
import type { TokenPayload } from '../../src';
import { useMovableClock } from '../support/clock';
import { ACCESS, REFRESH } from '../../src/core/verify';
import { sleep } from '../support/redis';
import { SECRET } from '../support/server';
import { entry } from './redis-env';

/** DESIGN 0.2 A: one identity can never push another's live record out of the memory store. */
describe('MemoryTokenStore fairness', () => {
  afterEach(() => JwtManager.reset());
  const configure = (store: MemoryTokenStore) => JwtManager.configure({ secret: SECRET, revocation: { store, checks: 'all' } });
  const isAccepted = async (token: string) => {
    try {
      await JwtManager.instance.verifier.authorize(token, ACCESS);
      return true;
    } catch {
      return false;
    }
  };

  it('an identity minting 100 000 tokens logs no one else out', async () => {
    const store = new MemoryTokenStore({ max: 1000 });
    configure(store);
    const victim = await createAccessToken('victim');
    for (let i = 0; i < 100_000; i += 1) await store.add(entry(`attacker-${i}`, 'attacker'));
    await createAccessToken('attacker'); // through the manager too
    assert.equal(await isAccepted(victim), true);
    assert.equal((await store.findByIdentity('attacker')).length, 100);
  });

  it("beyond maxPerIdentity, the identity's own oldest token goes first (and is refused)", async () => {
    configure(new MemoryTokenStore({ maxPerIdentity: 3 }));
    const tokens = [];
    for (let i = 0; i < 4; i += 1) tokens.push(await createAccessToken('alice'));
    assert.deepEqual(await Promise.all(tokens.map(isAccepted)), [false, true, true, true]);
  });

  it("when full of other identities' live records, creation rejects with TokenStoreError and evicts no one", async () => {
    const store = new MemoryTokenStore({ max: 4, maxPerIdentity: 2 });
    configure(store);
    const others = [await createAccessToken('a'), await createAccessToken('a'), await createAccessToken('b'), await createAccessToken('b')];
    await assert.rejects(createAccessToken('c'), (error: Error) => {
      assert.ok(error instanceof TokenStoreError);
      assert.match(error.message, /not issued \(TokenStoreError: Memory token store is full: 4 live records/);
      return true;
    });
    assert.deepEqual(await Promise.all(others.map(isAccepted)), [true, true, true, true]);
  });

  it('expired records make room again', async () => {
    const store = new MemoryTokenStore({ max: 2 });
    await store.add(entry('short-1', 'a', 1));
    await store.add(entry('short-2', 'b', 1));
    await assert.rejects(store.add(entry('c-1', 'c')), TokenStoreError);
    await sleep(1100);
    await store.add(entry('c-1', 'c'));
    assert.equal((await store.find('c-1'))?.revoked, false);
  });

});

/** DESIGN 0.3 H: in blocklist mode no bound ever forgets a live revocation. */
describe('MemoryTokenStore: a live revocation is never dropped (blocklist)', () => {
  let clock: ReturnType<typeof useMovableClock>;
  beforeEach(() => { clock = useMovableClock(); });
  afterEach(() => { clock.restore(); JwtManager.reset(); });
  const configure = (store: MemoryTokenStore) =>
    JwtManager.configure({ secret: SECRET, revocation: { store, checks: 'all', mode: 'blocklist' } });
  const outcome = async (token: string) => {
    try {
      await JwtManager.instance.verifier.authorize(token, ACCESS);
      return 'ok';
    } catch (error) {
      return `${(error as { status: number }).status} ${(error as Error).message}`;
    }
  };

  it('beyond maxPerIdentity the revocations fold into a bound: the first stays refused, memory stays bounded', async () => {
    const store = new MemoryTokenStore({ maxPerIdentity: 10, max: 50 });
    configure(store);
    const first = await createAccessToken('alice');
    await revokeToken(first);
    for (let i = 0; i < 500; i += 1) {
      await revokeToken(await createAccessToken('alice'));
      if (i % 50 === 0) await revokeToken(await createAccessToken(`other-${i}`));
    }
    assert.equal(await outcome(first), '401 Token has been revoked');
    assert.ok((await store.findAll()).length <= 50);
  });

  it("only that identity's tokens issued up to the newest folded revocation are refused", async () => {
    const store = new MemoryTokenStore({ maxPerIdentity: 3 });
    configure(store);
    const bobs = await createAccessToken('bob');
    const revoked = [];
    for (let i = 0; i < 4; i += 1) revoked.push(await createAccessToken('alice'));
    for (const token of revoked) await revokeToken(token);
    clock.advance(1000);
    const later = await createAccessToken('alice');
    assert.deepEqual(await Promise.all(revoked.map(outcome)), revoked.map(() => '401 Token has been revoked'));
    assert.equal(await outcome(later), 'ok');
    assert.equal(await outcome(bobs), 'ok');
  });

  it('a folded bound lasts until the last folded token expires, then frees its place', async () => {
    const store = new MemoryTokenStore({ maxPerIdentity: 2, max: 3 });
    configure(store);
    const long = await createAccessToken('alice', { expiresIn: 3600 });
    await revokeToken(long);
    await revokeToken(await createAccessToken('alice', { expiresIn: 60 }));
    await revokeToken(await createAccessToken('alice', { expiresIn: 60 })); // folds the three
    clock.advance(120_000);
    assert.equal(await outcome(long), '401 Token has been revoked');
    clock.advance(3600_000 + 300_000); // + the clock margin, by default 300 s
    await revokeToken(await createAccessToken('carol'));
    await revokeToken(await createAccessToken('dave'));
    await revokeToken(await createAccessToken('erin')); // the bound expired: room again
  });

  it('when full of other live revocations, revokeToken rejects (503) and every earlier revocation stays', async () => {
    const store = new MemoryTokenStore({ max: 6, maxPerIdentity: 3 });
    configure(store);
    const revoked = [];
    for (const who of ['a', 'a', 'b', 'b', 'c', 'c']) {
      const token = await createAccessToken(who);
      await revokeToken(token);
      revoked.push(token);
    }
    const victim = await createAccessToken('d');
    await assert.rejects(revokeToken(victim), (error: Error) => {
      assert.ok(error instanceof TokenStoreError, String(error));
      assert.equal((error as TokenStoreError).status, 503);
      return true;
    });
    assert.deepEqual(await Promise.all(revoked.map(outcome)), revoked.map(() => '401 Token has been revoked'));
  });

  it('a revocation lifted by unrevokeToken can be forgotten to make room (its absence means the same)', async () => {
    const store = new MemoryTokenStore({ maxPerIdentity: 2 });
    configure(store);
    const lifted = await createAccessToken('alice');
    await revokeToken(lifted);
    await unrevokeToken(lifted);
    const a = await createAccessToken('alice');
    const b = await createAccessToken('alice');
    await revokeToken(a);
    await revokeToken(b);
    assert.deepEqual(await Promise.all([lifted, a, b].map(outcome)), ['ok', '401 Token has been revoked', '401 Token has been revoked']);
  });
});

describe('MemoryTokenStore: a rotation retry records the pair it hands out (allowlist)', () => {
  afterEach(() => JwtManager.reset());

  let clock: ReturnType<typeof useMovableClock>;
  beforeEach(() => { clock = useMovableClock(); });
  afterEach(() => clock.restore());

  it('a full store: the winner and every retry answer 503, never a pair that does not work; once there is room the retry stores it', async () => {
    const store = new MemoryTokenStore({ max: 3 });
    const manager = JwtManager.configure({ secret: SECRET, revocation: { store, checks: 'all', refreshRotation: true } });
    const first = await manager.createRefreshToken('alice');
    await store.add(entry('bob-1', 'bob', 5));
    await store.add(entry('carol-1', 'carol', 5));
    const rotate = async () => manager.rotateRefreshToken(await manager.verifier.authorize(first, REFRESH));
    await assert.rejects(rotate(), (error: { status?: number }) => error.status === 503); // the winner: its records do not fit
    await assert.rejects(rotate(), (error: { status?: number }) => error.status === 503); // a retry: the same pair, which does not fit either
    assert.equal((await store.findByIdentity('alice')).length, 1);
    clock.advance(6000); // bob's and carol's records expire: room again, still inside the reuse interval
    const pair = await rotate(); // a retry inside the interval: the winner's pair, stored now
    assert.equal(await isAccepted(manager, pair.accessToken, ACCESS), true);
    assert.equal(await isAccepted(manager, pair.refreshToken, REFRESH), true);
  });

  it('a record maxPerIdentity forgot while revoked is not brought back by a retry', async () => {
    const store = new MemoryTokenStore({ maxPerIdentity: 3 });
    const manager = JwtManager.configure({ secret: SECRET, revocation: { store, checks: 'all', refreshRotation: true } });
    const first = await manager.createRefreshToken('alice');
    const rotate = async () => manager.rotateRefreshToken(await manager.verifier.authorize(first, REFRESH));
    const pair = await rotate();
    await manager.revokeToken(pair.accessToken);
    const again = payloadOf(first);
    await store.add({ jti: again.jti as string, identity: 'alice', expiresAt: again.exp as number, record: { token: again, revoked: false } }); // now her newest
    await manager.createAccessToken('alice'); // a 4th record: her oldest forgettable one goes, the revoked access token
    assert.equal(await store.find(payloadOf(pair.accessToken).jti as string), undefined);
    assert.deepEqual(await rotate(), pair);
    assert.equal(await store.find(payloadOf(pair.accessToken).jti as string), undefined); // not recorded again: still refused
    assert.equal(await isAccepted(manager, pair.accessToken, ACCESS), false);
  });
});

function payloadOf(token: string): TokenPayload {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
}

async function isAccepted(manager: JwtManager, token: string, requirement: typeof ACCESS): Promise<boolean> {
  try {
    await manager.verifier.authorize(token, requirement);
    return true;
  } catch {
    return false;
  }
}

describe('MemoryTokenStore: cut-offs and families are bounded too', () => {
  afterEach(() => JwtManager.reset());
  let clock: ReturnType<typeof useMovableClock>;
  beforeEach(() => { clock = useMovableClock(); });
  afterEach(() => clock.restore());
  const DAY = 24 * 3600 * 1000;
  const is503 = (error: { status?: number }) => error.status === 503;

  it('max families: one more is a 503, live ones (revoked included) stay; a reuse-detected family goes when its tokens have expired', async () => {
    const store = new MemoryTokenStore({ max: 3 });
    const manager = JwtManager.configure({ secret: SECRET, revocation: { store, mode: 'blocklist', refreshRotation: true } });
    const rotate = async (token: string) => manager.rotateRefreshToken(await manager.verifier.authorize(token, REFRESH));
    const [t1, t2, t3, t4] = await Promise.all([1, 2, 3, 4].map(() => manager.createRefreshToken('alice')));
    const p1 = await rotate(t1);
    const p2 = await rotate(t2);
    const p3 = await rotate(t3);
    await assert.rejects(rotate(t4), is503); // a 4th family does not fit
    const p1b = await rotate(p1.refreshToken); // a stored family still rotates
    clock.advance(DAY);
    const p2b = await rotate(p2.refreshToken);
    await rotate(p3.refreshToken);
    await assert.rejects(rotate(t1), RevokedTokenError); // reuse: family 1 sealed, its newest token (p1b, issued a day ago) expires in 29 days
    assert.equal(await isAccepted(manager, p1b.refreshToken, REFRESH), false);
    await assert.rejects(rotate(t4), is503); // still full: the sealed family is kept while its tokens live
    clock.advance(29 * DAY + 600_000); // p1b expired (+ the clock margin); families 2 and 3 live on
    const t5 = await manager.createRefreshToken('alice');
    await rotate(t5); // room: the sealed family was not kept 30 days from its reuse
    assert.equal(await isAccepted(manager, p2b.refreshToken, REFRESH), true);
  });

  it('max cut-offs: revokeAllTokens for one more identity is a 503, and every earlier cut-off stays', async () => {
    const store = new MemoryTokenStore({ max: 2 });
    const manager = JwtManager.configure({ secret: SECRET, revocation: { store, mode: 'blocklist', checks: 'all' } });
    const alice = await manager.createAccessToken('alice');
    const bob = await manager.createAccessToken('bob');
    const carol = await manager.createAccessToken('carol');
    await manager.revokeAllTokens('alice');
    await manager.revokeAllTokens('bob');
    await assert.rejects(manager.revokeAllTokens('carol'), is503);
    await manager.revokeAllTokens('alice'); // an identity already stored moves its cut-off
    assert.equal(await isAccepted(manager, alice, ACCESS), false);
    assert.equal(await isAccepted(manager, bob, ACCESS), false);
    assert.equal(await isAccepted(manager, carol, ACCESS), true);
  });
});

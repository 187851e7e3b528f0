import assert from 'node:assert/strict';
import { createAccessToken, JwtManager, MemoryTokenStore, TokenPayload, TokenStoreError } from '../../src';
import { ACCESS } from '../../src/core/verify';
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

  it('bare jtis revoked in blocklist mode (identity unknown) are not capped per identity', async () => {
    const store = new MemoryTokenStore({ maxPerIdentity: 2 });
    for (let i = 0; i < 5; i += 1) await store.add({ ...entry(`bare-${i}`, ''), record: { token: { jti: `bare-${i}` } as TokenPayload, revoked: true } });
    assert.equal((await store.findByIdentity('')).length, 5);
  });
});

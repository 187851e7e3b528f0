/**
 * runWithStore (src/core/async-context.ts): what `AsyncLocalStorage.run()` promises, on whichever
 * implementation this Node has (async_hooks on Node 20 and 22, AsyncContextFrame on Node 24; CI
 * runs this on all three). The request context and the refresh scope are entered through it.
 */
import assert from 'node:assert/strict';
import { AsyncLocalStorage, AsyncResource } from 'node:async_hooks';
import { runWithStore } from '../../src/core/async-context';

const storage = new AsyncLocalStorage<string>();
/** An application's own storage (a request id, a tracing context). */
const appStorage = new AsyncLocalStorage<string>();

const later = () => new Promise<void>((resolve) => setTimeout(resolve, 1));

describe('runWithStore: AsyncLocalStorage.run() at the cost this Node allows', () => {
  it('fn sees the store, synchronously, after an await, in a timer and in a promise it made', async () => {
    const seen: Array<string | undefined> = [];
    let timer: Promise<void> | undefined;
    const done = runWithStore(storage, 'alice', async () => {
      seen.push(storage.getStore());
      timer = new Promise<void>((resolve) => setTimeout(() => { seen.push(storage.getStore()); resolve(); }, 1));
      await later();
      seen.push(storage.getStore());
      return 'result';
    });
    assert.equal(await done, 'result');
    await timer;
    assert.deepEqual(seen, ['alice', 'alice', 'alice']);
  });

  it("the caller's context is back once fn returns, and once it throws", () => {
    assert.equal(runWithStore(storage, 'alice', () => storage.getStore()), 'alice');
    assert.equal(storage.getStore(), undefined);
    assert.throws(() => runWithStore(storage, 'alice', () => { throw new Error('boom'); }), /boom/);
    assert.equal(storage.getStore(), undefined);
    runWithStore(storage, 'outer', () => {
      assert.equal(runWithStore(storage, 'inner', () => storage.getStore()), 'inner');
      assert.equal(storage.getStore(), 'outer');
      assert.throws(() => runWithStore(storage, 'inner', () => { throw new Error('boom'); }));
      assert.equal(storage.getStore(), 'outer');
    });
  });

  it("another storage's store is seen inside as the caller saw it, and is untouched after", async () => {
    await appStorage.run('request-7', async () => {
      const inside = await runWithStore(storage, 'alice', async () => {
        await later();
        return [appStorage.getStore(), storage.getStore()];
      });
      assert.deepEqual(inside, ['request-7', 'alice']);
      assert.equal(appStorage.getStore(), 'request-7');
      assert.equal(storage.getStore(), undefined);
    });
  });

  it('the async resource the call ran in does not keep the store (a keep-alive socket serving the next request)', async () => {
    // the HTTP parser of a keep-alive connection: one async resource whose callbacks serve every request on it
    const connection = new AsyncResource('TEST_CONNECTION');
    const first = connection.runInAsyncScope(() => runWithStore(storage, 'alice', async () => {
      await later();
      return storage.getStore();
    }));
    assert.equal(await first, 'alice');
    assert.equal(connection.runInAsyncScope(() => storage.getStore()), undefined);
    // and a callback of it scheduled while the first call was running
    const next = await new Promise<string | undefined>((resolve) => {
      connection.runInAsyncScope(() => runWithStore(storage, 'alice', () => undefined));
      setImmediate(() => resolve(connection.runInAsyncScope(() => storage.getStore())));
    });
    assert.equal(next, undefined);
  });

  it('a resource made after the call does not see the store; one made during it does, whenever it runs', async () => {
    let during: (() => string | undefined) | undefined;
    runWithStore(storage, 'alice', () => {
      during = AsyncResource.bind(() => storage.getStore());
    });
    const after = AsyncResource.bind(() => storage.getStore());
    await later();
    assert.equal(during!(), 'alice');
    assert.equal(after(), undefined);
  });
});

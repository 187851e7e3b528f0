import assert from 'node:assert/strict';
import diagnostics from 'node:diagnostics_channel';
import type { Server } from 'node:http';
import { Post, JsonController } from 'routing-controllers';
import request from 'supertest';
import {
  createRefreshToken, getStoredTokens, JwtManager, MemoryTokenStore, RefreshRequired, StoreUnavailableError, TokenStoreError,
} from '../../src';
import type { StoreErrorMessage } from '../../src/core/diagnostics';
import { STORE_ERROR_CHANNEL } from '../../src/core/diagnostics';
import { REFRESH } from '../../src/core/verify';
import { RedisTokenStore } from '../../src/store/redis';
import { TieredTokenStore } from '../../src/store/tiered';
import { expectResponse } from '../support/assert-response';
import { freePort, hasRedisServer, RedisServer } from '../support/redis';
import { SECRET, serve, stop } from '../support/server';
import { CountingStore } from '../support/store';
import { eventually } from '../store/redis-suite';

/** Collects what is published on the store-error channel while a test runs. */
function listen(): { messages: StoreErrorMessage[]; stop(): void } {
  const messages: StoreErrorMessage[] = [];
  const onMessage = (message: unknown) => messages.push(message as StoreErrorMessage);
  diagnostics.subscribe(STORE_ERROR_CHANNEL, onMessage);
  return { messages, stop: () => diagnostics.unsubscribe(STORE_ERROR_CHANNEL, onMessage) };
}

/** A 0.1-style custom store (no session methods) whose `peek` throws. */
class ThrowingLegacyPeekStore extends CountingStore {
  peek(): never { throw new Error('legacy peek exploded'); }
}

/** A memory store whose synchronous hot path throws, as a buggy custom store might. */
class ThrowingPeekStore extends MemoryTokenStore {
  override peekState(): never { throw new Error('peek exploded'); }
}

@JsonController('/se')
class RefreshController {
  @Post('/refresh')
  @RefreshRequired()
  refresh() {
    return { ok: true };
  }
}

describe('store errors: observable, with their root cause (DESIGN 0.2 B)', () => {
  let channel: ReturnType<typeof listen>;
  beforeEach(() => { channel = listen(); });
  afterEach(() => {
    channel.stop();
    JwtManager.reset();
  });

  describe('a stopped redis-server', () => {
    let server: RedisServer;
    let store: RedisTokenStore;
    before(async function () {
      if (!hasRedisServer()) this.skip();
      server = new RedisServer(await freePort());
      await server.start();
      await server.stop();
    });
    beforeEach(() => {
      store = new RedisTokenStore({ redis: server.url, commandTimeoutMs: 300 });
      JwtManager.configure({ secret: SECRET, revocation: { store } });
    });
    afterEach(() => store.close());

    it("publishes the connection's ECONNREFUSED", async () => {
      await eventually(async () => assert.ok(channel.messages.some((m) => m.operation === 'connection' && (m.error as { code?: string }).code === 'ECONNREFUSED')), 3000);
    });

    it('a failed listing is published with its operation and says the root cause in its message', async () => {
      const error = await getStoredTokens('alice').then(() => undefined, (e: unknown) => e);
      assert.ok(error instanceof TokenStoreError);
      assert.match(error.message, /^The revocation store failed to list the tokens of an identity \(.+\)$/);
      assert.ok(error.cause instanceof TokenStoreError); // the Redis store's own error, kept
      assert.ok(channel.messages.some((m) => m.operation === 'findByIdentity' && m.error === error.cause));
    });

    it('a check that cannot reach Redis is a StoreUnavailableError keeping the store error as cause', async () => {
      JwtManager.configure({ secret: SECRET, revocation: { store: new MemoryTokenStore() } });
      const token = await createRefreshToken('alice');
      JwtManager.configure({ secret: SECRET, revocation: { store } });
      const error = await JwtManager.instance.verifier.authorize(token, REFRESH).then(() => undefined, (e: unknown) => e);
      assert.ok(error instanceof StoreUnavailableError);
      assert.ok(error.cause instanceof TokenStoreError);
      assert.ok(channel.messages.some((m) => m.operation === 'inspect' && m.error === error.cause));
    });

    it("a tiered store's subscriber publishes its connection errors as 'subscribe'", async () => {
      const tiered = new TieredTokenStore({ redis: server.url, commandTimeoutMs: 300 });
      try {
        await eventually(async () => assert.ok(channel.messages.some((m) => m.operation === 'subscribe')), 3000);
      } finally {
        await tiered.close();
      }
    });
  });

  describe('a custom store whose peek throws', () => {
    let http: Server | undefined;
    afterEach(() => stop(http));

    it('answers 503 Token revocation store unavailable over HTTP, never a bare 500', async () => {
      const store = new ThrowingPeekStore();
      http = serve([RefreshController], { revocation: { store } });
      const token = await createRefreshToken('alice');
      const res = await request(http).post('/se/refresh').set('Authorization', `Bearer ${token}`);
      expectResponse(res, 503, { msg: 'Token revocation store unavailable' });
    });

    it('a 0.1 custom store whose peek throws: 503 too', async () => {
      http = serve([RefreshController], { revocation: { store: new ThrowingLegacyPeekStore() } });
      const token = await createRefreshToken('alice');
      const res = await request(http).post('/se/refresh').set('Authorization', `Bearer ${token}`);
      expectResponse(res, 503, { msg: 'Token revocation store unavailable' });
    });

    it("publishes the thrown error as operation 'peek'", async () => {
      JwtManager.configure({ secret: SECRET, revocation: { store: new ThrowingPeekStore() } });
      const token = await createRefreshToken('alice');
      await assert.rejects(JwtManager.instance.verifier.authorize(token, REFRESH), StoreUnavailableError);
      assert.deepEqual(channel.messages.map((m) => [m.operation, (m.error as Error).message]), [['peek', 'peek exploded']]);
    });
  });
});

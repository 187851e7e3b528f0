/**
 * One app instance for the multi-process specs: plain Koa on a free port, a TieredTokenStore on
 * the Redis named by REDIS_URL / KEY_PREFIX, revocation checks 'all' in MODE, tier entries kept a
 * minute (so a missed invalidation would show), its Redis connections in REDIS_THREAD ('main', or 'worker'). GET /me (guarded), POST /refresh (rotates),
 * POST /refresh-access (a refresh route that mints an access token without rotating).
 * Sends { port } over IPC once its invalidation link is up; 'exit' closes it.
 */
import Koa from 'koa';
import Router from '@koa/router';
import { createAccessToken, getJwtIdentity, JwtManager, jwtRequired, rotateRefreshToken, TieredTokenStore } from '../../../src';
import { RedisWorkerLink } from '../../../src/store/worker-link';

/**
 * INVALIDATION_DELAY_MS models a loaded instance or a slow link: every pub/sub message reaches
 * its tier that much later (the confirmation is then sent later too, as it follows the drop).
 */
function delayInvalidations(ms: number, thread: string): void {
  if (thread === 'worker') {
    // the worker hears the message; the tier drops the key (and then confirms) when the worker's 'drop' reaches it
    const link = RedisWorkerLink.prototype as unknown as { heard(message: { t: string }): void };
    const heardFromWorker = link.heard;
    link.heard = function (this: unknown, message: { t: string }) {
      if (message.t === 'drop') setTimeout(() => heardFromWorker.call(this, message), ms);
      else heardFromWorker.call(this, message);
    };
    return;
  }
  const proto = TieredTokenStore.prototype as unknown as { heard(channel: string, message: string): void };
  const heard = proto.heard;
  proto.heard = function (this: unknown, channel: string, message: string) {
    setTimeout(() => heard.call(this, channel, message), ms);
  };
}

async function main(): Promise<void> {
  const delay = Number(process.env.INVALIDATION_DELAY_MS ?? 0);
  const redisThread = process.env.REDIS_THREAD === 'worker' ? 'worker' : 'main';
  if (delay > 0) delayInvalidations(delay, redisThread);
  const store = new TieredTokenStore({ redis: process.env.REDIS_URL!, keyPrefix: process.env.KEY_PREFIX!, ttlMs: 60_000, redisThread });
  JwtManager.configure({
    secret: process.env.JWT_SECRET!,
    revocation: { store, checks: 'all', mode: process.env.MODE as 'allowlist' | 'blocklist', refreshRotation: true },
  });
  const router = new Router();
  router.get('/me', jwtRequired(), (ctx) => { ctx.body = { ok: true }; });
  router.post('/refresh', jwtRequired({ refresh: true }), async (ctx) => { ctx.body = await rotateRefreshToken(); });
  router.post('/refresh-access', jwtRequired({ refresh: true }), async (ctx) => { ctx.body = { accessToken: await createAccessToken(getJwtIdentity()!) }; });
  const app = new Koa();
  app.silent = true;
  app.use(router.routes());
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  while (!store.isLinkUp) await new Promise((resolve) => setTimeout(resolve, 10));
  process.send!({ port: (server.address() as { port: number }).port });
  process.on('message', async (message) => {
    if (message !== 'exit') return;
    server.close();
    await store.close();
    process.exit(0);
  });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});

/**
 * `npm run demo`: the seed's examples on port 5000 (PORT overrides). With
 * REDIS_URL set, revocation uses the tiered LRU + Redis store, shared by every
 * instance; without it, the embedded memory store.
 */
import { TieredTokenStore } from '../src';
import { createDemoApp } from './app';

const port = Number(process.env.PORT ?? 5000);
const redisUrl = process.env.REDIS_URL;
const store = redisUrl ? new TieredTokenStore({ redis: redisUrl }) : undefined;
createDemoApp({ store }).listen(port, () => {
  const storeName = store ? `tiered LRU + Redis store at ${redisUrl}` : 'memory store';
  console.log(`koa-jwt-extended demo on http://localhost:${port} (${storeName}; GET / lists the endpoints)`);
});

/**
 * `npm run demo`: the seed's examples on http://127.0.0.1:5000. `PORT` and `HOST`
 * override (HOST=0.0.0.0 to listen on every interface). With REDIS_URL set,
 * revocation uses the tiered LRU + Redis store, shared by every instance, its keys
 * under REDIS_KEY_PREFIX (default `jwt:`); without it, the embedded memory store.
 */
import { TieredTokenStore } from 'koa-jwt-extended';
import { createDemoApp } from './app';
import { describeDemoSecret } from './secret';

const port = Number(process.env.PORT ?? 5000);
const host = process.env.HOST ?? '127.0.0.1';
const redisUrl = process.env.REDIS_URL;
const keyPrefix = process.env.REDIS_KEY_PREFIX;
const store = redisUrl ? new TieredTokenStore({ redis: redisUrl, keyPrefix }) : undefined;
createDemoApp({ store }).listen(port, host, () => {
  const storeName = store ? `tiered LRU + Redis store at ${redisUrl}, keys under ${keyPrefix ?? 'jwt:'}` : 'memory store';
  console.log(`koa-jwt-extended demo on http://${host}:${port} (${storeName}; GET / lists the endpoints)`);
  console.log(describeDemoSecret());
});

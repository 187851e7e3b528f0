/**
 * A second app instance for the cross-process replay spec: the DPoP spec app on a Redis
 * revocation store (REDIS_URL, KEY_PREFIX), `dpop.origin` shared with its peers. Prints its port.
 */
import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import { RedisTokenStore } from '../../src';
import { dpopApp, SECRET } from './support';
import { JwtManager } from '../../src';

const store = new RedisTokenStore({ redis: process.env.REDIS_URL!, keyPrefix: process.env.KEY_PREFIX });
JwtManager.configure({ secret: SECRET, revocation: { store, checks: 'all', mode: 'blocklist' }, dpop: { origin: 'https://api.example.com' } });
const server = dpopApp().listen(0, '127.0.0.1', () => {
  process.stdout.write(`${(server.address() as AddressInfo).port}\n`);
});
process.on('SIGTERM', () => {
  server.close();
  void store.close().then(() => process.exit(0));
});

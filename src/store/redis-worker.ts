/**
 * The Redis side of a `TieredTokenStore` with `redisThread: 'worker'`, run in a `worker_thread`:
 * the store's command connection, its invalidation subscriber and the confirmation waiters live
 * here, so the tier thread's isolate never runs a Redis socket or ioredis's promises (issue 27:
 * on the requests' isolate they turn node's socket and async_hooks code polymorphic, and cost
 * every request). The protocol is in worker-protocol.ts; what each side keeps, in its doc.
 */
import * as diagnostics from 'node:diagnostics_channel';
import { parentPort, workerData } from 'node:worker_threads';
import type Redis from 'ioredis';
import { STORE_ERROR_CHANNEL, type StoreErrorMessage } from '../core/diagnostics';
import { InvalidationConfirmer } from './confirm';
import { clientOf, ownedClientOptions, RedisTokenStore } from './redis';
import { publishRedisError, withTimeout } from './redis-keys';
import { tierKey } from './redis-sessions';
import { ANNOUNCED, runConfirmedWrite, sendableError, type FromWorker, type ToWorker, type WorkerSetup } from './worker-protocol';

const port = parentPort!;
const setup = workerData as WorkerSetup;
const send = (message: FromWorker) => port.postMessage(message);

// what this thread publishes on the store-error channel goes to the tier thread's subscribers
diagnostics.subscribe(STORE_ERROR_CHANNEL, (message) => {
  const { error, operation } = message as StoreErrorMessage;
  send({ t: 'storeError', error: sendableError(error), operation });
});

// and its process warnings (KJE_REDIS_EVICTS) to the tier thread's process, where the app listens (not printed here too)
process.removeAllListeners('warning');
process.on('warning', (warning: Error & { code?: string }) => send({ t: 'warning', name: warning.name, message: warning.message, code: warning.code }));

const store = new RedisTokenStore({ redis: setup.redis, keyPrefix: setup.keyPrefix, commandTimeoutMs: setup.commandTimeoutMs });
const client = clientOf(store) as Redis;
const prefix = store.keys.prefix;
const confirmer = new InvalidationConfirmer(client, `${prefix}instances`, `${prefix}confirm`, setup.confirmTimeoutMs, setup.livenessLeaseMs);
let closed = false;
/** Counts the subscriber's connections (each 'ready' and each 'close'): a beat names the one it is for. */
let connections = 0;

const subscriber: Redis = client.duplicate({
  ...ownedClientOptions(store.commandTimeoutMs),
  autoResubscribe: false, // we subscribe on every 'ready', and know when it is done
  lazyConnect: false,
});
subscriber.on('error', (error: unknown) => publishRedisError(error, 'subscribe'));
subscriber.on('close', () => {
  connections += 1;
  if (!closed) send({ t: 'down' });
});
subscriber.on('message', (channel: string, message: string) => heard(channel, message));
subscriber.on('ready', () => {
  const link = ++connections;
  subscriber.subscribe(store.keys.channel, confirmer.confirmChannel).then(
    () => {
      if (!closed && link === connections) send({ t: 'up', link });
    },
    () => subscriber.disconnect(true),
  );
});

/** A link that stopped answering is cut, so it reconnects and the tier is flushed meanwhile. */
const linkCheck = setInterval(() => {
  if (subscriber.status !== 'ready') return;
  withTimeout(subscriber.ping(), store.commandTimeoutMs, () => new Error('ping')).catch(() => subscriber.disconnect(true));
}, Math.max(setup.ttlMs / 2, 100));
linkCheck.unref();

/** One pub/sub message: a confirmation of our write (counted here), or a key for the tier thread to drop. */
function heard(channel: string, message: string): void {
  if (channel === confirmer.confirmChannel) return confirmer.confirmed(message);
  const request = InvalidationConfirmer.parseRequest(message);
  if (request !== undefined) return send({ t: 'drop', key: request.key, request: request.request });
  // a bare jti is what a 0.1 instance publishes: understood, so a rolling upgrade keeps its bound
  send({ t: 'drop', key: /^[tgf]:/.test(message) ? message : tierKey.token(message), request: undefined });
}

function answer(id: number, work: () => Promise<unknown>): void {
  new Promise((resolve) => resolve(work())).then(
    (value) => send({ t: 'reply', id, ok: true, value }),
    (error: unknown) => send({ t: 'reply', id, ok: false, error: sendableError(error) }),
  );
}

async function beat(link: number): Promise<void> {
  if (link !== connections || subscriber.status !== 'ready') throw new Error('the subscriber connection this beat was for is gone');
  await confirmer.renewLease();
}

async function close(): Promise<void> {
  closed = true;
  clearInterval(linkCheck);
  confirmer.stop();
  confirmer.leave();
  await withTimeout(subscriber.quit(), store.commandTimeoutMs, () => new Error('quit')).catch(() => subscriber.disconnect());
  await store.close();
}

port.on('message', (message: ToWorker) => {
  switch (message.t) {
    case 'call': {
      const method = store[message.call] as (...args: unknown[]) => Promise<unknown>;
      return answer(message.id, () => method.apply(store, message.args));
    }
    case 'write':
      return answer(message.id, () => confirmer.write(
        message.key, (announce) => runConfirmedWrite(store, message.write, message.args, announce), ANNOUNCED[message.write] as (result: unknown) => boolean,
      ));
    case 'beat':
      return answer(message.id, () => beat(message.link));
    case 'confirm':
      return confirmer.confirm(message.request);
    case 'leave':
      return confirmer.leave();
    case 'cut':
      confirmer.leave();
      if (message.link === connections) subscriber.disconnect(true);
      return;
    case 'close':
      return answer(message.id, close);
  }
});

/**
 * The tier thread's end of a `TieredTokenStore` with `redisThread: 'worker'` (worker-protocol.ts):
 * starts the Redis worker, sends it the store's calls, keeps the liveness lease's timers, and
 * tells the tier what the worker hears. A worker that dies is replaced: meanwhile the tier is
 * flushed and bypassed and every call rejects with a `TokenStoreError` (fail closed, 503).
 */
import { extname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { publishStoreError } from '../core/diagnostics';
import { TokenStoreError } from '../core/errors';
import { LivenessLease } from './confirm';
import { MAX_TIMER_MS } from './store-options';
import type { RefreshTokenUse, StoreEntry } from './token-store';
import {
  receivedCallError, receivedError, type ConfirmedWrite, type FromWorker, type PlainCall, type ToWorker, type WorkerSetup,
} from './worker-protocol';

/** What the link tells the tier. */
export interface TierEvents {
  /** Flush and bypass the tier (the link dropped, the lease was lost, the worker died, or a new subscription starts). */
  linkDown(): void;
  /** The tier may be used: subscribed, flushed, and registered as live. */
  linkUp(): void;
  /** Drop one tier key (`t:`, `g:`, `f:`). */
  invalidate(key: string): void;
}

interface Pending {
  resolve(value: unknown): void;
  reject(error: unknown): void;
  timer: NodeJS.Timeout;
}

/** The worker warnings this process has emitted (a replaced worker, or another store's, would repeat them). */
const warned = new Set<string>();

/** How long a worker that died waits before it is replaced: doubled for each one in a row that never subscribed, up to 30 s. */
const RESTART_MS = 500;
const MAX_RESTART_MS = 30_000;
/** Listing calls (SCAN over every record) are bounded per command in the worker, not as a whole. */
const LISTING_MS = 60_000;

/** The Worker's bootstrap: it loads the entry, through ts-node when it is TypeScript (this repo's tests). */
const BOOTSTRAP = `
const { workerData } = require('node:worker_threads');
if (workerData.entry.endsWith('.ts') && require.extensions['.ts'] === undefined) require('ts-node/register/transpile-only');
require(workerData.entry);
`;

/**
 * A store entry as Redis will hold it: its token through a JSON round trip, as the in-thread
 * store's `JSON.stringify` writes it (`toJSON` applied, functions and undefined dropped), since a
 * worker receives a structured clone, which keeps neither rule.
 */
function storedForm(entry: StoreEntry): StoreEntry {
  return { ...entry, record: { ...entry.record, token: JSON.parse(JSON.stringify(entry.record.token)) } };
}

export class RedisWorkerLink {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private closed = false;
  /** Workers in a row that exited before their subscriber came up (a worker that cannot start is not restarted in a tight loop). */
  private failures = 0;
  private up = false;
  /** The subscriber connection the tier last heard subscribed (`up`): beats are for it. */
  private link = -1;
  readonly lease: LivenessLease;
  /** Longest the tier thread waits for any answer of the worker: its own bounds, and a margin. */
  private readonly answerMs: number;

  /** #private: the URL holds the password. */
  readonly #setup: Omit<WorkerSetup, 'entry'>;
  private closing: Promise<void> | undefined;

  constructor(setup: Omit<WorkerSetup, 'entry'>, private readonly tier: TierEvents, commandTimeoutMs: number) {
    this.#setup = setup;
    this.lease = new LivenessLease(() => this.request({ t: 'beat', id: 0, link: this.link }), setup.livenessLeaseMs);
    this.answerMs = Math.min(3 * commandTimeoutMs + setup.confirmTimeoutMs + 1000, MAX_TIMER_MS - LISTING_MS);
    this.start();
  }

  get isUp(): boolean {
    return this.up;
  }

  /** One call of the Redis store's, answered by the worker. */
  call<T>(call: PlainCall, args: unknown[]): Promise<T> {
    const listing = call === 'findAll' || call === 'findByIdentity';
    const sent = call === 'add' ? [storedForm(args[0] as StoreEntry)] : args;
    return this.request({ t: 'call', id: 0, call, args: sent }, false, listing ? LISTING_MS + this.answerMs : this.answerMs) as Promise<T>;
  }

  /** A write the other instances confirm: the worker writes, then waits for them (or `confirmTimeoutMs`). */
  write<T>(write: ConfirmedWrite, key: string, args: unknown[]): Promise<T> {
    let sent = args;
    if (write === 'addAnnounced') sent = [storedForm(args[0] as StoreEntry)];
    if (write === 'useRefreshToken') {
      const use = args[0] as RefreshTokenUse;
      sent = [use.records === undefined ? use : { ...use, records: use.records.map(storedForm) }];
    }
    return this.request({ t: 'write', id: 0, write, key, args: sent }) as Promise<T>;
  }

  /** Ends the worker and its connections; every call of it (a second one too) resolves once the thread is gone. */
  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    this.closed = true;
    this.lease.stop();
    this.down();
    const worker = this.worker;
    if (worker === undefined) return;
    await this.request({ t: 'close', id: 0 }, true).catch(() => undefined);
    await worker.terminate();
  }

  private start(): void {
    const entry = join(__dirname, `redis-worker${extname(__filename)}`);
    const worker = new Worker(BOOTSTRAP, { eval: true, workerData: { ...this.#setup, entry } satisfies WorkerSetup });
    this.worker = worker;
    worker.on('message', (message: FromWorker) => this.heard(message));
    worker.on('error', (error: unknown) => publishStoreError(new TokenStoreError('the Redis worker thread failed', error), 'worker'));
    worker.on('exit', (code) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      this.link = -1;
      this.down();
      this.rejectAll(new TokenStoreError('Redis token store: the Redis worker thread exited'));
      if (this.closed) return;
      const delay = Math.min(RESTART_MS * 2 ** this.failures, MAX_RESTART_MS);
      this.failures += 1;
      publishStoreError(new TokenStoreError(`the Redis worker thread exited (code ${code}): the tier is bypassed until a new one is up (started in ${delay} ms)`), 'worker');
      const restart = setTimeout(() => {
        if (!this.closed) this.start();
      }, delay);
      restart.unref();
    });
  }

  private request(message: ToWorker, evenIfClosed = false, answerMs = this.answerMs): Promise<unknown> {
    const worker = this.worker;
    if (worker === undefined || (this.closed && !evenIfClosed)) {
      return Promise.reject(new TokenStoreError('Redis token store: the Redis worker thread is not running'));
    }
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new TokenStoreError(`Redis token store: the Redis worker thread did not answer within ${answerMs} ms`));
      }, answerMs);
      timer.unref();
      this.pending.set(id, { resolve, reject, timer });
      try {
        worker.postMessage({ ...message, id });
      } catch (error) {
        // not cloneable (a claim a JSON round trip would have dropped is cut before: storedForm)
        clearTimeout(timer);
        this.pending.delete(id);
        reject(new TokenStoreError('Redis token store: the call could not be sent to the Redis worker thread', error));
      }
    });
  }

  private rejectAll(error: TokenStoreError): void {
    for (const [id, { reject, timer }] of this.pending) {
      clearTimeout(timer);
      this.pending.delete(id);
      reject(error);
    }
  }

  private send(message: ToWorker): void {
    this.worker?.postMessage(message);
  }

  private heard(message: FromWorker): void {
    switch (message.t) {
      case 'reply': {
        const waiting = this.pending.get(message.id);
        if (waiting === undefined) return;
        this.pending.delete(message.id);
        clearTimeout(waiting.timer);
        if (message.ok) waiting.resolve(message.value);
        else waiting.reject(receivedCallError(message.error, this.#setup.confirmTimeoutMs));
        return;
      }
      case 'drop':
        this.tier.invalidate(message.key);
        if (message.request !== undefined) this.send({ t: 'confirm', request: message.request }); // after the drop
        return;
      case 'up':
        return this.subscribed(message.link);
      case 'down': {
        const wasUp = this.up;
        this.link = -1;
        this.down();
        if (wasUp) this.send({ t: 'leave' }); // flushed: writers need not wait for us now
        return;
      }
      case 'storeError':
        return publishStoreError(receivedError(message.error, this.#setup.confirmTimeoutMs), message.operation);
      case 'warning':
        // each worker warns once per thing; this process, once
        if (warned.has(message.message)) return;
        warned.add(message.message);
        return process.emitWarning(message.message, { type: message.name, code: message.code });
    }
  }

  /** A new subscription: flush what raced it, register as live (the first beat), and only then use the tier. */
  private subscribed(link: number): void {
    this.down();
    this.link = link;
    this.lease.beat().then(
      () => {
        if (this.closed || this.link !== link) return;
        this.failures = 0;
        this.up = true;
        this.tier.linkUp();
        this.lease.start(() => this.up, () => this.leaseLost());
      },
      (error: unknown) => {
        if (this.closed || this.link !== link) return; // that connection closed meanwhile: its successor subscribes anew
        publishStoreError(error, 'heartbeat');
        this.send({ t: 'cut', link });
      },
    );
  }

  /**
   * No heartbeat stored for two thirds of the lease (this thread stalled, the worker or Redis did
   * not answer): writers are about to stop waiting for us, so the tier goes first, then the
   * worker leaves the live set and rebuilds the link, which registers this instance again.
   */
  private leaseLost(): void {
    if (!this.up || this.closed) return;
    const why = `no liveness heartbeat stored for ${this.lease.leaseMs - this.lease.heartbeatMs} ms: the tier is flushed and the link rebuilt`;
    publishStoreError(new TokenStoreError(why), 'heartbeat');
    this.down();
    this.send({ t: 'cut', link: this.link });
  }

  private down(): void {
    this.up = false;
    this.tier.linkDown();
  }
}

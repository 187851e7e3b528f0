/**
 * What a tiered store's thread and its Redis worker thread (`redisThread: 'worker'`) say to each
 * other over the worker's port: both sides import it, so the messages have one definition.
 *
 * The tier thread keeps the tier, the epoch and the liveness lease's timers (a stalled event loop
 * there must stop renewing and give the tier up: see `LivenessLease`); the worker keeps every
 * Redis connection (commands, the subscriber) and the confirmation waiters. An invalidation the
 * worker hears is dropped by the tier thread first and confirmed by the worker after (`drop`,
 * then `confirm`), so a writer never resolves before the tier that confirmed dropped the entry.
 */
import { TokenStoreError } from '../core/errors';
import { UnconfirmedInvalidationError } from './confirm';
import type { RedisTokenStore } from './redis';
import type { Announcement } from './redis-sessions';
import type { RefreshTokenUse, RefreshTokenUseOutcome, StoreEntry } from './token-store';

/** What the worker is started with (`workerData`): plain data, the URL being the only connection setting that crosses. */
export interface WorkerSetup {
  /** The worker entry module (`.js`, or `.ts` under ts-node). */
  entry: string;
  redis: string;
  keyPrefix: string | undefined;
  commandTimeoutMs: number | undefined;
  ttlMs: number;
  confirmTimeoutMs: number;
  livenessLeaseMs: number;
}

/** The store calls the worker answers: the Redis store's own, by name. */
export type PlainCall = 'add' | 'find' | 'inspect' | 'cutoff' | 'rememberOnce' | 'findByIdentity' | 'findAll';
/** The writes the other instances confirm (confirm.ts), each with the announcement as its last argument. */
export type ConfirmedWrite = 'addAnnounced' | 'setRevoked' | 'revokeAll' | 'useRefreshToken' | 'revokeFamily';

/** Whether a confirmed write's result means it published its announcement (then the writer waits for the confirmations). */
export const ANNOUNCED: Record<ConfirmedWrite, (result: never) => boolean> = {
  addAnnounced: (stored: boolean) => stored,
  setRevoked: (record: unknown) => record !== undefined,
  revokeAll: () => true,
  useRefreshToken: (result: RefreshTokenUseOutcome) => result.outcome === 'rotated' || result.outcome === 'reused',
  revokeFamily: () => true,
};

/** Runs one confirmed write on `store` with its announcement. */
export function runConfirmedWrite(store: RedisTokenStore, write: ConfirmedWrite, args: unknown[], announce: Announcement): Promise<unknown> {
  switch (write) {
    case 'addAnnounced':
      return store.addAnnounced(args[0] as StoreEntry, announce);
    case 'setRevoked':
      return store.setRevoked(args[0] as string, args[1] as boolean, announce);
    case 'revokeAll':
      return store.revokeAll(args[0] as string, args[1] as number | undefined, announce);
    case 'useRefreshToken':
      return store.useRefreshToken(args[0] as RefreshTokenUse, announce);
    case 'revokeFamily':
      return store.revokeFamily(args[0] as string, args[1] as number | undefined, announce);
  }
}

/** Tier thread to worker. */
export type ToWorker =
  | { t: 'call'; id: number; call: PlainCall; args: unknown[] }
  | { t: 'write'; id: number; write: ConfirmedWrite; key: string; args: unknown[] }
  /** Renew the lease, if subscriber connection `link` is still the current one and subscribed. */
  | { t: 'beat'; id: number; link: number }
  /** Confirm a request whose key the tier has dropped. */
  | { t: 'confirm'; request: string }
  /** The tier was flushed after a link drop: writers need not wait for us. */
  | { t: 'leave' }
  /** The lease was lost (or the first beat failed): leave, and cut subscriber connection `link` so it reconnects. */
  | { t: 'cut'; link: number }
  | { t: 'close'; id: number };

/** An error as it crosses the port: what the tier thread rebuilds it from (a structured clone keeps neither class nor `code`). */
export interface SentError {
  name: string;
  message: string;
  code: unknown;
  cause: { name: string; message: string; code: unknown } | undefined;
  /** `UnconfirmedInvalidationError`'s counts. */
  unconfirmed?: number;
  awaited?: number;
}

/** Worker to tier thread. */
export type FromWorker =
  | { t: 'reply'; id: number; ok: true; value: unknown }
  | { t: 'reply'; id: number; ok: false; error: SentError }
  /** Subscriber connection `link` has subscribed: flush, then beat for it before using the tier. */
  | { t: 'up'; link: number }
  /** The subscriber's connection closed: flush and bypass the tier. */
  | { t: 'down' }
  /** A tier key to drop; with `request`, confirm it after. */
  | { t: 'drop'; key: string; request: string | undefined }
  /** Something the worker published on `koa-jwt-extended:store-error`. */
  | { t: 'storeError'; error: SentError; operation: string }
  /** A process warning the worker emitted (`KJE_REDIS_EVICTS`): the app listens for them on its own thread's `process`. */
  | { t: 'warning'; name: string; message: string; code: string | undefined };

function errorName(value: unknown): string {
  return value instanceof Error ? value.name : 'Error';
}

/** `error` as it crosses the port (its cause's message and code too; command arguments were hidden before). */
export function sendableError(error: unknown): SentError {
  const cause = error instanceof Error ? (error as { cause?: unknown }).cause : undefined;
  const sent: SentError = {
    name: errorName(error),
    message: error instanceof Error ? error.message : String(error),
    code: error instanceof Error ? (error as { code?: unknown }).code : undefined,
    cause: cause === undefined ? undefined : { name: errorName(cause), message: cause instanceof Error ? cause.message : String(cause), code: (cause as { code?: unknown }).code },
  };
  if (error instanceof UnconfirmedInvalidationError) {
    sent.unconfirmed = error.unconfirmed;
    sent.awaited = error.awaited;
  }
  return sent;
}

function rebuilt(name: string, message: string, code: unknown): Error {
  const error = new Error(message);
  error.name = name;
  if (code !== undefined) (error as { code?: unknown }).code = code;
  return error;
}

/**
 * The error the tier thread publishes: a `TokenStoreError` (with its cause), the confirmation
 * report it was, or any other error by name, message and code (a connection's `ECONNREFUSED`).
 */
export function receivedError(sent: SentError, confirmTimeoutMs: number): Error {
  if (sent.name === 'UnconfirmedInvalidationError' && sent.unconfirmed !== undefined && sent.awaited !== undefined) {
    return new UnconfirmedInvalidationError(sent.unconfirmed, sent.awaited, confirmTimeoutMs);
  }
  const cause = sent.cause === undefined ? undefined : rebuilt(sent.cause.name, sent.cause.message, sent.cause.code);
  if (sent.name === 'TokenStoreError') return new TokenStoreError(sent.message, cause);
  return rebuilt(sent.name, sent.message, sent.code);
}

/** What a call's rejection becomes: always a `TokenStoreError` (503), as the Redis store's own calls reject. */
export function receivedCallError(sent: SentError, confirmTimeoutMs: number): TokenStoreError {
  const error = receivedError(sent, confirmTimeoutMs);
  return error instanceof TokenStoreError ? error : new TokenStoreError(`Redis token store: ${error.message}`, error);
}

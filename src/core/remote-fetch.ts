/**
 * Fetching from an identity provider without letting its failure become ours: a body
 * bound (read as a stream, cut at the limit, so a huge answer never reaches `JSON.parse`),
 * a timeout, and a backoff after each failure so an outage costs a handful of outbound
 * fetches per window, never one per inbound request. Used for JWK Sets and for the
 * discovery metadata that names them.
 */
import { noteKeySetFailure, noteKeySetSuccess } from './store-health';
import { jwksFetchObserved, publishJwksFetch } from './diagnostics';
import { jsonShapeProblem } from './json-shape';

/**
 * The bounds of what a remote key set (or its metadata) may be: larger is refused as
 * unavailable (0.3 J). Besides the bytes and the keys, the shape `JSON.parse` would walk:
 * nesting, members of one object, elements of one array (`maxKeys`), values in all.
 */
export const REMOTE_LIMITS = { maxBytes: 1024 * 1024, maxKeys: 1000, maxDepth: 16, maxMembers: 1000, maxValues: 20_000 };

/**
 * How long a fetch may take, and the first wait after a failure (doubling up to the
 * cooldown). Internal: the contract fixes 5 s and 1 s; the specs shorten them.
 */
export const jwksTiming = { timeoutMs: 5_000, firstBackoffMs: 1_000 };

type FetchHeaders = NonNullable<Parameters<typeof fetch>[1]>['headers'];

/** A fetch that failed: the reason, and the wait the server asked for (`Retry-After`), if any. */
export class RemoteFetchError extends Error {
  /** The HTTP status of an answer other than 200. */
  status?: number;
  constructor(message: string, readonly retryAfterMs?: number, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'RemoteFetchError';
  }
}

/** `Retry-After` as milliseconds: delay-seconds or an HTTP date (RFC 9110 §10.2.3). */
function retryAfterMs(value: string | null): number | undefined {
  if (value === null) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/** The body, read chunk by chunk and abandoned as soon as it passes `maxBytes`. */
async function boundedBody(response: Response, maxBytes: number): Promise<Buffer> {
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw new RemoteFetchError(`the answer is larger than ${maxBytes} bytes (Content-Length ${declared})`);
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  if (response.body === null) return Buffer.alloc(0);
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw new RemoteFetchError(`the answer is larger than ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, total);
}

/** The body as JSON, once its shape is known to be within `REMOTE_LIMITS` (so parsing it cannot stall the loop). */
function parseBounded(body: Buffer, url: string | URL): unknown {
  const { maxDepth, maxMembers, maxKeys, maxValues } = REMOTE_LIMITS;
  const shape = jsonShapeProblem(body, { maxDepth, maxMembers, maxElements: maxKeys, maxValues });
  if (shape !== undefined) throw new RemoteFetchError(`the answer from ${String(url)} is refused unread: ${shape}`);
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new RemoteFetchError(`the answer from ${String(url)} is not JSON`, undefined, error);
  }
}

/**
 * GETs `url` and parses its JSON body, within `maxBytes` and the shape bounds of
 * `REMOTE_LIMITS`, before `signal` aborts; `accept` then reads the parsed value (and throws
 * when it is not what was asked for). Every failure (network, timeout, status other than
 * 200, too large, too complex, not JSON, refused by `accept`) is a `RemoteFetchError`,
 * except an abort, which keeps its `TimeoutError` name.
 *
 * @example const metadata = await fetchJson(new URL('https://idp.example/.well-known/openid-configuration'), { signal })
 */
export async function fetchJson<T = unknown>(
  url: string | URL,
  init: { signal?: AbortSignal; headers?: FetchHeaders } = {},
  accept: (parsed: unknown) => T = (parsed) => parsed as T,
): Promise<T> {
  const started = jwksFetchObserved() ? performance.now() : -1;
  try {
    const signal = init.signal ?? AbortSignal.timeout(jwksTiming.timeoutMs);
    // redirects are not followed: the configured URL is the one trusted
    const response = await fetch(url, { method: 'GET', signal, redirect: 'manual', headers: init.headers ?? { accept: 'application/json' } });
    if (response.status !== 200) {
      await response.body?.cancel().catch(() => undefined);
      const error = new RemoteFetchError(`HTTP ${response.status} from ${String(url)}`, retryAfterMs(response.headers.get('retry-after')));
      error.status = response.status;
      throw error;
    }
    const body = await boundedBody(response, REMOTE_LIMITS.maxBytes);
    const accepted = accept(parseBounded(body, url));
    if (started >= 0) publishJwksFetch({ uri: String(url), outcome: 'success', duration: (performance.now() - started) / 1000 });
    noteKeySetSuccess(String(url));
    return accepted;
  } catch (error) {
    if (started >= 0) publishJwksFetch({ uri: String(url), outcome: 'error', duration: (performance.now() - started) / 1000, error });
    noteKeySetFailure(String(url), error);
    throw error;
  }
}

/**
 * When the next fetch of one remote resource may go out. After a failure the next attempt
 * waits 1 s, then 2 s, 4 s... up to `capMs` (`jwksCooldown`), or what `Retry-After` asked
 * (within the cap); meanwhile callers are refused at once. A success clears it.
 */
export class FetchBackoff {
  private failures = 0;
  private retryAt = 0;
  private lastError: unknown;

  constructor(private readonly capMs: number) {}

  /**
   * The last failure while still waiting (the caller answers 503 with it), else `undefined`.
   *
   * @example const waiting = backoff.waiting(); if (waiting) throw new KeySetUnavailableError(waiting)
   */
  waiting(): unknown {
    return Date.now() < this.retryAt ? this.lastError ?? new RemoteFetchError('waiting after a failed fetch') : undefined;
  }

  /** Records a failed fetch and starts the wait before the next one. */
  failed(error: unknown): void {
    const doubling = jwksTiming.firstBackoffMs * 2 ** Math.min(this.failures, 30);
    const asked = error instanceof RemoteFetchError && error.retryAfterMs !== undefined ? error.retryAfterMs : 0;
    this.failures += 1;
    this.lastError = error;
    this.retryAt = Date.now() + Math.min(this.capMs, Math.max(doubling, asked));
  }

  /** Records a successful fetch: the next failure starts again from the first wait. */
  succeeded(): void {
    this.failures = 0;
    this.retryAt = 0;
    this.lastError = undefined;
  }
}

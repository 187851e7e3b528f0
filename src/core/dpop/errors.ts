/**
 * The refusals of RFC 9449, as `JwtError`s: each answers 401 through `unauthorizedLoader`,
 * carries the `WWW-Authenticate` challenge (and, for the nonce challenge, the `DPoP-Nonce`)
 * the door sets whatever the loader answers, and says which check failed in `detail` (for
 * the log and the tests, never for the client).
 */
import { JwtError } from '../errors';

/** RFC 9449 §7.1's `error` values, plus the one of `required: true`. */
export type DpopErrorCode = 'invalid_dpop_proof' | 'use_dpop_nonce' | 'invalid_token';

/**
 * A DPoP refusal (401). `challenge` is the `WWW-Authenticate` value; `nonce`, when set, the
 * `DPoP-Nonce` header the client must use next.
 *
 * @example if (error instanceof DpopError) log.info(error.detail)
 */
export class DpopError extends JwtError {
  /** Which check refused the request, e.g. `'htm does not match the request method'`. */
  readonly detail: string;
  /** The `WWW-Authenticate` header value. */
  readonly challenge: string;
  /** The `DPoP-Nonce` header value, when the client must (re)try with a nonce. */
  readonly nonce: string | undefined;

  constructor(code: string, message: string, detail: string, challenge: string, nonce?: string) {
    super('unauthorized', code, 401, message);
    this.detail = detail;
    this.challenge = challenge;
    this.nonce = nonce;
  }

  /** The response headers of this refusal (Koa's error handler sets an error's `headers`). */
  get headers(): Record<string, string> {
    return this.nonce === undefined ? { 'WWW-Authenticate': this.challenge } : { 'WWW-Authenticate': this.challenge, 'DPoP-Nonce': this.nonce };
  }
}

/** The quoted `algs` parameter of a challenge (RFC 9449 §7.1): the allowed algorithms, space-separated. */
function algsParameter(algorithms: readonly string[]): string {
  return `algs="${algorithms.join(' ')}"`;
}

/**
 * A bad proof, a bound token sent as Bearer, or an unbound token sent with the DPoP scheme.
 *
 * @example throw invalidProof(config.dpop.algorithms, 'htm does not match the request method')
 */
export function invalidProof(algorithms: readonly string[], detail: string): DpopError {
  return new DpopError('ERR_DPOP_INVALID_PROOF', 'Invalid DPoP proof', detail,
    `DPoP error="invalid_dpop_proof", ${algsParameter(algorithms)}`);
}

/** A bound token without a `DPoP` header. @example throw proofRequired(algorithms) */
export function proofRequired(algorithms: readonly string[]): DpopError {
  return new DpopError('ERR_DPOP_PROOF_REQUIRED', 'DPoP proof required', 'the request has no DPoP header',
    `DPoP error="invalid_dpop_proof", ${algsParameter(algorithms)}`);
}

/** `required: true` and a token that is not DPoP-bound. @example throw boundTokenRequired(algorithms) */
export function boundTokenRequired(algorithms: readonly string[]): DpopError {
  return new DpopError('ERR_DPOP_BOUND_TOKEN_REQUIRED', 'DPoP-bound token required', 'the token has no cnf.jkt',
    `DPoP error="invalid_token", ${algsParameter(algorithms)}`);
}

/** `nonce: true` and a proof without the current nonce (RFC 9449 §8–9). @example throw nonceRequired(current) */
export function nonceRequired(nonce: string, detail: string): DpopError {
  return new DpopError('ERR_DPOP_NONCE_REQUIRED', 'DPoP nonce required', detail, 'DPoP error="use_dpop_nonce"', nonce);
}

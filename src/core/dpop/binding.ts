/**
 * The route rules of a sender-constrained token (RFC 9449 §7): which token needs a proof, and
 * which presentation is a downgrade. Runs after every check of the token itself (revocation
 * included) and before roles, claimsCheck and the user lookup.
 */
import { InvalidTokenError } from '../errors';
import type { TokenPayload } from '../responses';
import { boundTokenRequired, invalidProof, proofRequired } from './errors';
import type { ProofRequest, VerifiedProof } from './verifier';
import { dpopVerifierFor } from './verifier';
import type { JwtConfig } from '../options';

/** How the token came: with the `DPoP` scheme or not, and the request its proof belongs to. */
export interface Presentation {
  /** `Authorization: DPoP <token>` (never any other header or location). */
  dpopScheme: boolean;
  /** The request (method, URI, DPoP header); `undefined` when there is none (a token checked outside a request). */
  request: ProofRequest | undefined;
  /** The proof already recorded for this request, if any (one request is not its own replay). */
  recorded?: string;
}

const JKT = /^[A-Za-z0-9_-]{43}$/;

/**
 * The key thumbprint a verified token is bound to (`cnf.jkt`), or `undefined` for an unbound
 * token. A `cnf` we cannot check (another confirmation method, a malformed jkt) is refused:
 * the token would otherwise pass as a bearer token.
 *
 * @example boundThumbprint(payload) // 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs'
 */
export function boundThumbprint(payload: TokenPayload): string | undefined {
  const cnf = payload.cnf as unknown;
  if (cnf === undefined) return undefined;
  const jkt = typeof cnf === 'object' && cnf !== null ? (cnf as Record<string, unknown>).jkt : undefined;
  if (typeof jkt !== 'string' || !JKT.test(jkt)) throw new InvalidTokenError('Unsupported confirmation method (cnf)', 'ERR_JWT_CNF');
  return jkt;
}

/**
 * Confirms the sender of a verified token: `undefined` for an unbound token that may pass as
 * it came, else the verified proof (a promise when the replay cache is remote). Refusals are
 * `DpopError`s (401) and `StoreUnavailableError` (503).
 *
 * @example const proof = await confirmSender(config, token, payload, { dpopScheme: true, request })
 */
export function confirmSender(
  config: JwtConfig,
  token: string,
  payload: TokenPayload,
  presentation: Presentation,
): VerifiedProof | Promise<VerifiedProof> | undefined {
  const dpop = config.dpop;
  const jkt = boundThumbprint(payload);
  if (jkt === undefined) {
    if (dpop.required) throw boundTokenRequired(dpop.algorithms);
    if (presentation.dpopScheme) throw invalidProof(dpop.algorithms, 'an unbound token was sent with the DPoP scheme');
    return undefined;
  }
  if (!presentation.dpopScheme) throw invalidProof(dpop.algorithms, 'a DPoP-bound token was sent without the DPoP scheme (downgrade)');
  const request = presentation.request;
  if (request === undefined || request.dpop === undefined) throw proofRequired(dpop.algorithms);
  return dpopVerifierFor(config).verify(request, { token, jkt }, presentation.recorded);
}

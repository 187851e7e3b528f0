/**
 * The Koa door of DPoP (RFC 9449): it hands the core checks the request's method, URI and
 * `DPoP` header, remembers per request which proof it recorded (so a guarded method called
 * from a guarded route is not refused as its own replay), and writes the `WWW-Authenticate`
 * and `DPoP-Nonce` headers. No rule lives here: they are in src/core/dpop.
 */
import type { Context } from 'koa';
import { publishRefused } from '../core/diagnostics';
import { confirmSender } from '../core/dpop/binding';
import { DpopError, invalidProof } from '../core/dpop/errors';
import { dpopVerifierFor, ProofRequest, VerifiedProof } from '../core/dpop/verifier';
import { JwtError } from '../core/errors';
import { JwtManager } from '../core/manager';
import type { JwtConfig } from '../core/options';
import type { TokenPayload } from '../core/responses';
import { currentContext } from './context';

/** A host name, IPv4 address or bracketed IPv6 address, with an optional port: nothing else may stand in the URI htu is compared with. */
const PLAIN_AUTHORITY = /^(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.?|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$/;

/** Per request: the proof it recorded and its thumbprint. */
const VERIFIED = new WeakMap<object, VerifiedProof>();

/**
 * What the checks see of a Koa request. `htu` is compared with `dpop.origin` (or the request's
 * own scheme and host: `ctx.protocol`, `ctx.host`, which honour `app.proxy`) plus `ctx.path`;
 * never the `Origin` header (Koa 3's `ctx.origin` reads it), never the query.
 *
 * @example dpopProofRequest(ctx, config).uri // 'https://api.example.com/me'
 */
export function dpopProofRequest(ctx: Context, config: JwtConfig): ProofRequest {
  const configured = config.dpop.origin;
  // a Host (or X-Forwarded-Host) holding '/', '?', '#' or '\\' would move the real path out of what htu is compared with
  if (configured === undefined && !PLAIN_AUTHORITY.test(ctx.host)) throw invalidProof(config.dpop.algorithms, 'the request Host is not a plain host[:port]');
  const origin = configured ?? `${ctx.protocol}://${ctx.host}`;
  return { method: ctx.method, uri: origin + ctx.path, dpop: ctx.req.headers.dpop };
}

/** Keeps a verified proof for this request, and asks for a fresh nonce on the response when needed. */
function accepted(ctx: Context, verified: VerifiedProof): string {
  VERIFIED.set(ctx, verified);
  if (verified.freshNonce !== undefined) ctx.set('DPoP-Nonce', verified.freshNonce);
  return verified.thumbprint;
}

/**
 * Writes the headers of a DPoP refusal (`WWW-Authenticate`, and `DPoP-Nonce` for the nonce
 * challenge); `false` when `error` is no DPoP refusal.
 *
 * @example if (!setDpopRefusalHeaders(ctx, error)) setBearerChallenge(ctx, error)
 */
export function setDpopRefusalHeaders(ctx: Context, error: unknown): boolean {
  if (!(error instanceof DpopError)) return false;
  ctx.set('WWW-Authenticate', error.challenge);
  if (error.nonce !== undefined) ctx.set('DPoP-Nonce', error.nonce);
  return true;
}

/**
 * At login (or any unguarded route): checks the request's DPoP proof as a guarded route would,
 * except `ath` (there is no token yet), records its jti, and resolves its key's RFC 7638
 * thumbprint, for `createAccessToken(identity, { dpopJkt })`. Resolves `undefined` when the
 * request has no `DPoP` header; a bad proof rejects with the `JwtError` a guard would answer
 * (`DpopError`, 401, its headers set on `ctx`; with `dpop.nonce` also `DPoP nonce required`),
 * an unreachable replay cache with a 503 `StoreUnavailableError`.
 *
 * @example
 * router.post('/login', async (ctx) => {
 *   const dpopJkt = await verifyDpopProof(ctx);
 *   ctx.body = { access_token: await createAccessToken(user.id, { dpopJkt }), token_type: dpopJkt ? 'DPoP' : 'Bearer' };
 * });
 */
export async function verifyDpopProof(ctx: Context): Promise<string | undefined> {
  const config = JwtManager.instance.config;
  const request = dpopProofRequest(ctx, config);
  if (request.dpop === undefined) return undefined;
  try {
    return accepted(ctx, await dpopVerifierFor(config).verify(request, undefined, VERIFIED.get(ctx)?.proof));
  } catch (error) {
    setDpopRefusalHeaders(ctx, error);
    if (error instanceof JwtError) publishRefused(error, ctx);
    throw error;
  }
}

/**
 * The guard's DPoP step, after every check of the token itself: `undefined` for an unbound
 * token that may pass as it came (without building anything: the bearer hot path), else the
 * proof's thumbprint (a promise when the replay cache is remote). `ctx` is `undefined` for a
 * token checked outside a request (the testing kit), which `proofRequest` may stand in for.
 *
 * @example const thumbprint = await confirmRequestSender(ctx, found, payload, config)
 */
export function confirmRequestSender(
  ctx: Context | undefined,
  found: { token: string; dpopScheme?: boolean },
  payload: TokenPayload,
  config: JwtConfig,
  proofRequest?: ProofRequest,
): string | Promise<string> | undefined {
  const dpopScheme = found.dpopScheme === true;
  if (payload.cnf === undefined && !dpopScheme && !config.dpop.required) return undefined;
  const request = ctx === undefined ? proofRequest : dpopProofRequest(ctx, config);
  const recorded = ctx === undefined ? undefined : VERIFIED.get(ctx)?.proof;
  const verified = confirmSender(config, found.token, payload, { dpopScheme, request, recorded });
  if (verified === undefined) return undefined;
  if (ctx === undefined) return verified instanceof Promise ? verified.then((v) => v.thumbprint) : verified.thumbprint;
  return verified instanceof Promise ? verified.then((v) => accepted(ctx, v)) : accepted(ctx, verified);
}

/**
 * The RFC 7638 thumbprint of the current request's verified DPoP proof: the one a guard
 * checked, or the one `verifyDpopProof(ctx)` verified; `undefined` when there is none.
 *
 * @example const dpopJkt = getDpopThumbprint()
 */
export function getDpopThumbprint(): string | undefined {
  const context = currentContext();
  if (context === undefined) return undefined;
  if (context.dpopThumbprint !== undefined) return context.dpopThumbprint;
  return context.ctx === undefined ? undefined : VERIFIED.get(context.ctx as object)?.thumbprint;
}

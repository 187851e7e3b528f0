/**
 * The operations of the model test, each through the public path an app uses: the guard's
 * check (`verifier.authorize`, what every door runs), `createAccessToken`/`createRefreshToken`,
 * `revokeToken`/`unrevokeToken`/`revokeAllTokens`, a `@RefreshRequired()` route calling
 * `rotateRefreshToken()` (the guard, then the rotation), and a refresh route that mints an
 * access token without rotating. Every answer is reduced to an outcome the model predicts.
 */
import {
  ExpiredTokenError, JwtManager, JwtUsageError, RevokedTokenError, TokenNotFoundError,
} from '../../../src';
import type { TokenPayload } from '../../../src';
import { refuseUsedRefreshToken } from '../../../src/core/sessions';
import { ACCESS, REFRESH } from '../../../src/core/verify';
import type { HandedPair, How } from './model';
import type { TokenFacts } from './reference';

export function payloadOf(token: string): TokenPayload {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
}

/** The claims the model needs, read from a token the store let the library hand out. */
export function factsOf(token: string, createdAt: number): TokenFacts {
  const payload = payloadOf(token);
  return {
    jti: payload.jti as string,
    identity: payload.sub as string,
    type: payload.type as 'access' | 'refresh',
    iat: payload.iat as number,
    exp: payload.exp as number,
    family: typeof payload.fam === 'string' ? payload.fam : null,
    createdAt,
  };
}

/** A refusal or failure as the model names it; anything else (a 500) is thrown on. */
export function outcomeOf(error: unknown): string {
  if (error instanceof ExpiredTokenError) return 'expired';
  if (error instanceof RevokedTokenError) return 'revoked';
  if (error instanceof TokenNotFoundError) return 'notFound';
  if (error instanceof JwtUsageError) return 'usage';
  if ((error as { status?: unknown })?.status === 503) return 'unavailable';
  throw error;
}

/** `ok` (or the value), or the outcome the call failed with. */
async function attempt<T>(run: () => Promise<T>): Promise<{ value: T } | { outcome: string }> {
  try {
    return { value: await run() };
  } catch (error) {
    return { outcome: outcomeOf(error) };
  }
}

/** One app instance: its manager (its own store instance), as a route would use it. */
export class Instance {
  constructor(readonly manager: JwtManager) {}

  private get mode() {
    return this.manager.config.revocation!.mode;
  }

  async create(identity: string, type: 'access' | 'refresh'): Promise<{ outcome: string; token?: string }> {
    const result = await attempt(() => (type === 'access' ? this.manager.createAccessToken(identity) : this.manager.createRefreshToken(identity)));
    return 'value' in result ? { outcome: 'ok', token: result.value } : result;
  }

  async check(token: string, type: 'access' | 'refresh'): Promise<string> {
    const result = await attempt(() => this.manager.verifier.authorize(token, type === 'access' ? ACCESS : REFRESH));
    return 'value' in result ? 'ok' : result.outcome;
  }

  async setRevoked(token: string, revoked: boolean, how: How): Promise<string> {
    const payload = payloadOf(token);
    const target = how === 'token' ? token : how === 'payload' ? payload : (payload.jti as string);
    const options = how === 'jti' && this.mode === 'blocklist' ? { identity: payload.sub as string, expiresAt: payload.exp as number } : undefined;
    const result = await attempt(() => (revoked ? this.manager.revokeToken(target, options) : this.manager.unrevokeToken(target)));
    return 'value' in result ? 'ok' : result.outcome;
  }

  async revokeAll(identity: string): Promise<string> {
    const result = await attempt(() => this.manager.revokeAllTokens(identity));
    return 'value' in result ? 'ok' : result.outcome;
  }

  /** A `@RefreshRequired()` route returning `rotateRefreshToken()`. */
  async rotate(token: string, createdAt: number): Promise<string | HandedPair> {
    const result = await attempt(async () => this.manager.rotateRefreshToken(await this.manager.verifier.authorize(token, REFRESH)));
    if (!('value' in result)) return result.outcome;
    const { accessToken: access, refreshToken: refresh } = result.value;
    return { access, refresh, accessFacts: factsOf(access, createdAt), refreshFacts: factsOf(refresh, createdAt) };
  }

  /** A `@RefreshRequired()` route that returns `createAccessToken()` and does not rotate. */
  async mint(token: string): Promise<{ outcome: string; token?: string }> {
    const result = await attempt(async () => {
      const payload = await this.manager.verifier.authorize(token, REFRESH);
      await refuseUsedRefreshToken(this.manager.config, payload); // what createAccessToken() runs inside such a route
      return this.manager.createAccessToken(payload.sub as string);
    });
    return 'value' in result ? { outcome: 'ok', token: result.value } : result;
  }
}

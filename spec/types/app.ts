/**
 * A small strict-mode app against the public types. Compiled (never run) by
 * types.spec.ts: each `@ts-expect-error` line is a wrong use that must not compile;
 * if one compiled, its directive would be unused, and that is an error too.
 */
import 'reflect-metadata';
import { Get, JsonController, Post } from 'routing-controllers';
import {
  Claims, createAccessToken, decodeToken, getJwtClaims, getStoredToken, JwtManager, JwtPayload, JwtRequired, revokeToken,
} from 'koa-jwt-extended';
import { JwtHttpError } from 'koa-jwt-extended/testing';

interface AppClaims {
  roles: string[];
  tenant: string;
}

JwtManager.configure({
  secret: 'types-spec-secret-of-at-least-32-bytes',
  userIdentityLoader: (user: { id: string }) => user.id,
  // fje's additional_claims_loader(user): the user object createAccessToken() was given
  userClaimsLoader: (user: { id: string } | string) => ({ tenant: typeof user === 'string' ? 'default' : user.id }),
  // the loaders get the payload typed: jti is a string
  revokedTokenLoader: (payload) => ({ status: 401, body: { msg: `revoked: ${payload.jti.slice(0, 8)}` } }),
});

@JsonController('/typed')
export class TypedController {
  @Get('/claims')
  @JwtRequired()
  async claims(@Claims() claims: JwtPayload<AppClaims>) {
    await revokeToken(claims.jti); // no cast: jti is a string
    const kind: 'access' | 'refresh' = claims.type;
    const fresh: boolean | number | undefined = claims.fresh;
    const audience: string | string[] | undefined = claims.aud;
    // @ts-expect-error exp is absent on a token configured never to expire
    const exp: number = claims.exp;
    // @ts-expect-error a claim AppClaims does not declare
    claims.tenantId;
    // @ts-expect-error roles are strings
    claims.roles.push(1);
    return { kind, fresh, audience, exp, tenant: claims.tenant.toUpperCase() };
  }

  @Get('/getter')
  @JwtRequired()
  getter() {
    const typed = getJwtClaims<AppClaims>();
    const untyped = getJwtClaims();
    // @ts-expect-error without C, a custom claim is unknown
    const tenant: string = untyped.tenant;
    const sub: string | undefined = untyped.sub;
    return { roles: typed.roles.join(','), tenant, sub };
  }

  @Post('/logout')
  @JwtRequired()
  async logout(@Claims() claims: JwtPayload<AppClaims>) {
    await revokeToken(getJwtClaims()); // a payload of any claims is a revocation target, without a cast
    await revokeToken(getJwtClaims<AppClaims>());
    await revokeToken(claims);
    await revokeToken(await decodeToken(await createAccessToken('alice')));
    // @ts-expect-error a payload without its jti is no revocation target
    await revokeToken({ sub: 'alice' });
  }
}

export async function tokens(user: { id: string }): Promise<string[]> {
  const decoded = await decodeToken<AppClaims>(await createAccessToken('alice'));
  const stored = await getStoredToken(decoded.jti);
  const forUser = await createAccessToken(user); // a user object: userIdentityLoader maps it
  // @ts-expect-error a boolean is no identity (numbers are: verifySub: false apps have integer ids)
  await createAccessToken(true);
  // @ts-expect-error nor is undefined
  await createAccessToken(undefined);
  return [decoded.tenant, stored.token.jti, forUser];
}

export function refusals(error: JwtHttpError, custom: JwtHttpError<string>): boolean {
  // the default body is the { msg } object of the default answers
  const message = error.body.msg === 'Fresh token required';
  // @ts-expect-error a loader's string body has no msg
  custom.body.msg;
  return message && error.status === 401 && custom.body.length > 0;
}

/**
 * The seed README's examples, in koa-jwt-extended's API: login, fresh login,
 * refresh, protected and fresh-only routes, custom claims, and the revocation
 * endpoints. They import the package by name, as your app will.
 */
import { IsNotEmpty, IsString, MaxLength } from 'class-validator';
import { Body, Get, HttpCode, JsonController, Param, Post, Put } from 'routing-controllers';
import {
  Claims, createAccessToken, createRefreshToken, CurrentJwtUser, FreshJwtRequired, getJwtClaims, getJwtIdentity, getStoredToken,
  getAllStoredTokens, getStoredTokens, Identity, JwtManager, JwtRequired, RefreshRequired, revokeAllTokens, revokeToken,
  rotateRefreshToken, TokenNotFoundError, TokenPayload, unrevokeToken,
} from 'koa-jwt-extended';

export class LoginBody {
  @IsString() @IsNotEmpty() @MaxLength(200)
  username!: string;

  @IsString() @IsNotEmpty() @MaxLength(200)
  password!: string;
}

/** Demo users. The seed's `!= and !=` let any half-right login in; here both must match. */
const USERS: Record<string, string> = { test: 'test', admin: 'admin' };

/** What the demo knows of each user: `userLookupLoader` (app.ts) returns it, and `roles` go into the tokens. */
export interface DemoUser {
  username: string;
  displayName: string;
  roles: string[];
}

const PROFILES: Record<string, DemoUser> = {
  test: { username: 'test', displayName: 'Test User', roles: ['user'] },
  admin: { username: 'admin', displayName: 'The Administrator', roles: ['user', 'admin'] },
};

/** The profile of a demo user, `null` for anyone else (a token of an unknown user then answers 401). */
export function findDemoUser(username: unknown): DemoUser | null {
  return typeof username === 'string' && Object.prototype.hasOwnProperty.call(PROFILES, username) ? PROFILES[username] : null;
}

/** Thrown by a route to answer with a status and `{ msg }` (see the error handler in app.ts). */
export class DemoError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export function checkPassword(body: LoginBody): void {
  // routing-controllers neither transforms nor validates a JSON array body: refuse it here
  if (!(body instanceof LoginBody)) throw new DemoError(400, 'The body must be a JSON object with username and password');
  const { username, password } = body;
  if (!Object.prototype.hasOwnProperty.call(USERS, username) || USERS[username] !== password) {
    throw new DemoError(401, 'Bad username or password');
  }
}

@JsonController()
export class AuthController {
  /** Standard login: a fresh access token and a refresh token. */
  @Post('/login')
  async login(@Body() body: LoginBody) {
    checkPassword(body);
    return {
      access_token: await createAccessToken(body.username, { fresh: true }),
      refresh_token: await createRefreshToken(body.username),
    };
  }

  /** Re-authenticates with the password: a fresh access token only. */
  @Post('/fresh-login')
  async freshLogin(@Body() body: LoginBody) {
    checkPassword(body);
    return { access_token: await createAccessToken(body.username, { fresh: true }) };
  }

  /**
   * Refresh-token rotation: the refresh token is spent, and a new non-fresh access token and a
   * new refresh token come back. Presenting a spent refresh token again is taken as theft: it is
   * refused and every token of its family with it. Without rotation configured (the seed's
   * behaviour), a new non-fresh access token only.
   */
  @Post('/refresh')
  @RefreshRequired()
  async refresh(@Identity() username: string) {
    if (!JwtManager.instance.config.revocation?.refreshRotation) return { access_token: await createAccessToken(username, { fresh: false }) };
    const { accessToken, refreshToken } = await rotateRefreshToken();
    return { access_token: accessToken, refresh_token: refreshToken };
  }

  /** Log out everywhere (e.g. after a password change): every refresh token of the caller made before now stops working. */
  @Post('/logout-everywhere')
  @HttpCode(200)
  @JwtRequired()
  async logoutEverywhere(@Identity() username: string) {
    await revokeAllTokens(username);
    return { msg: 'Logged out everywhere' };
  }
}

@JsonController()
export class ProtectedController {
  @Get('/protected')
  @JwtRequired()
  protected() {
    return { hello: 'world' };
  }

  @Get('/protected-fresh')
  @FreshJwtRequired()
  protectedFresh(@Identity() username: string) {
    return { hello: `from ${username}` };
  }

  /** The seed's "who am I", reading the identity through getJwtIdentity(). */
  @Get('/whoami')
  @JwtRequired()
  whoami() {
    return { hello: `from ${getJwtIdentity()}` };
  }

  /** The current user, loaded by userLookupLoader (app.ts) once per request. */
  @Get('/me')
  @JwtRequired()
  me(@CurrentJwtUser() user: DemoUser) {
    return { username: user.username, display_name: user.displayName, roles: user.roles };
  }

  /** Administrators only, by the token's `roles` claim: 403 Insufficient permissions for anyone else. */
  @Get('/admin')
  @JwtRequired({ roles: ['admin'] })
  admin(@Identity() username: string) {
    return { hello: `administrator ${username}` };
  }

  /** The seed's custom claims example (claims added by userClaimsLoader in app.ts). */
  @Get('/claims')
  @JwtRequired()
  claims(@Claims() claims: TokenPayload) {
    return { hello_is: claims.hello, foo_is: getJwtClaims().foo };
  }
}

@JsonController('/auth')
export class TokensController {
  /** The caller's own stored tokens. */
  @Get('/tokens')
  @JwtRequired()
  async listMine(@Identity() username: string) {
    return getStoredTokens(username);
  }

  /** Every stored token: administrators only (the `roles` claim; anyone else gets 403 Insufficient permissions). */
  @Get('/all-tokens')
  @JwtRequired({ roles: ['admin'] })
  async listAll() {
    return getAllStoredTokens();
  }

  @Put('/tokens/revoke/:jti')
  @HttpCode(200)
  @JwtRequired()
  async revoke(@Param('jti') jti: string, @Identity() username: string) {
    await ownedToken(jti, username);
    await revokeToken(jti);
    return { msg: 'Token successfully revoked' };
  }

  @Put('/tokens/unrevoke/:jti')
  @HttpCode(200)
  @JwtRequired()
  async unrevoke(@Param('jti') jti: string, @Identity() username: string) {
    await ownedToken(jti, username);
    await unrevokeToken(jti);
    return { msg: 'Token successfully unrevoked' };
  }
}

/** Someone else's token is reported as not found, so jtis of others cannot be probed. */
async function ownedToken(jti: string, username: string): Promise<void> {
  try {
    const { token } = await getStoredToken(jti);
    if (token.sub !== username) throw new TokenNotFoundError(jti);
  } catch (error) {
    if (error instanceof TokenNotFoundError) throw new DemoError(404, 'Token not found');
    throw error;
  }
}

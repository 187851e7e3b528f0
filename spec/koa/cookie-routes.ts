/** The routes the cookie and CSRF specs drive: login and logout set and unset cookies; the rest read them. */
import type { Context } from 'koa';
import { Ctx, Delete, Get, JsonController, Patch, Post, Put, QueryParam } from 'routing-controllers';
import {
  createAccessToken, createRefreshToken, Identity, JwtRequired, RefreshRequired, setAccessCookies, setRefreshCookies,
  unsetAccessCookies, unsetJwtCookies, unsetRefreshCookies,
} from '../../src';

@JsonController('/ck')
export class CookieController {
  @Post('/login')
  async login(@Ctx() ctx: Context, @QueryParam('maxAge') maxAge?: number) {
    setAccessCookies(ctx, await createAccessToken('alice', { csrf: true }), maxAge);
    setRefreshCookies(ctx, await createRefreshToken('alice', { csrf: true }), maxAge);
    return { login: true };
  }

  @Post('/logout')
  logout(@Ctx() ctx: Context) {
    unsetJwtCookies(ctx);
    return { logout: true };
  }

  @Post('/logout-access')
  logoutAccess(@Ctx() ctx: Context) {
    unsetAccessCookies(ctx);
    return { logout: 'access' };
  }

  @Post('/logout-refresh')
  logoutRefresh(@Ctx() ctx: Context) {
    unsetRefreshCookies(ctx);
    return { logout: 'refresh' };
  }

  @Get('/protected') @JwtRequired({ locations: ['cookies'] })
  read(@Identity() who: string) { return { who }; }

  @Post('/protected') @JwtRequired({ locations: ['cookies'] })
  create(@Identity() who: string) { return { who }; }

  @Put('/protected') @JwtRequired({ locations: ['cookies'] })
  replace(@Identity() who: string) { return { who }; }

  @Patch('/protected') @JwtRequired({ locations: ['cookies'] })
  update(@Identity() who: string) { return { who }; }

  @Delete('/protected') @JwtRequired({ locations: ['cookies'] })
  remove(@Identity() who: string) { return { who }; }

  @Post('/either') @JwtRequired({ locations: ['headers', 'cookies'] })
  either(@Identity() who: string) { return { who }; }

  @Post('/refresh') @RefreshRequired({ locations: ['cookies'] })
  refresh(@Identity() who: string) { return { refreshed: who }; }
}

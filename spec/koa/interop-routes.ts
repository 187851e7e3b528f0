/**
 * Routes for the interop specs: an access route, a fresh route and a refresh route,
 * each answering the identity exactly as `@Identity()` gives it (a number stays a number).
 */
import { Get, JsonController, Post } from 'routing-controllers';
import { FreshJwtRequired, Identity, JwtRequired, RefreshRequired } from '../../src';

@JsonController('/interop')
export class InteropController {
  @Get('/me')
  @JwtRequired()
  me(@Identity() identity: unknown) {
    return { identity };
  }

  @Get('/fresh')
  @FreshJwtRequired()
  fresh(@Identity() identity: unknown) {
    return { identity };
  }

  @Post('/refresh')
  @RefreshRequired()
  refresh(@Identity() identity: unknown) {
    return { identity };
  }
}

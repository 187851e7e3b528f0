/**
 * The public keys as a JWK Set, where other services (and any JOSE library)
 * look for them. With an HS* secret the set is empty: a secret is never published.
 */
import { Get, Header, JsonController } from 'routing-controllers';
import { JwtManager } from 'koa-jwt-extended';

@JsonController()
export class JwksController {
  @Get('/.well-known/jwks.json')
  @Header('Cache-Control', 'public, max-age=300')
  jwks() {
    return JwtManager.instance.jwks();
  }
}

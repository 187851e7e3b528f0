/**
 * addJwtSecurity() over a document made by the real routing-controllers-openapi: the
 * schemes in use, and a `security` entry on exactly the guarded operations.
 */
import assert from 'node:assert/strict';
import { Get, getMetadataArgsStorage, JsonController, Post } from 'routing-controllers';
import { routingControllersToSpec } from 'routing-controllers-openapi';
import { addJwtSecurity, FreshJwtRequired, JwtManager, JwtOptional, JwtOptions, JwtRequired, RefreshRequired } from '../src';
import { SECRET } from './support/server';

@JsonController('/docs-open')
class DocsOpenController {
  @Get('/health')
  health() {
    return { ok: true };
  }
}

@JsonController('/docs')
@JwtRequired()
class DocsGuardedController {
  @Get('/items/:id')
  item() {
    return {};
  }

  @Post('/items')
  @FreshJwtRequired({ locations: ['cookies', 'headers'] })
  create() {
    return {};
  }

  @Get('/feed')
  @JwtOptional()
  feed() {
    return {};
  }

  @Post('/refresh')
  @RefreshRequired({ locations: ['cookies'] })
  refresh() {
    return {};
  }

  @Get('/by-query')
  @JwtRequired({ locations: ['query'] })
  byQuery() {
    return {};
  }
}

/** routing-controllers-openapi's document for just these controllers (other specs' abstract bases would trip it). */
function documentFor(controllers: Function[]) {
  const storage = getMetadataArgsStorage();
  const mine = new Set(controllers);
  const view = Object.assign(Object.create(storage), {
    actions: storage.actions.filter((a) => mine.has(a.target)),
    controllers: storage.controllers.filter((c) => mine.has(c.target)),
  });
  return routingControllersToSpec(view);
}

interface Doc {
  paths: Record<string, Record<string, { security?: unknown }>>;
  components?: { securitySchemes?: Record<string, unknown> };
}

describe('openapi: addJwtSecurity() on a routing-controllers-openapi document', () => {
  function spec(options: Partial<JwtOptions> = {}): Doc {
    JwtManager.configure({ secret: SECRET, ...options });
    return addJwtSecurity(documentFor([DocsOpenController, DocsGuardedController])) as unknown as Doc;
  }
  afterEach(() => JwtManager.reset());

  it('leaves open operations without security', () => {
    assert.equal(spec().paths['/docs-open/health'].get.security, undefined);
  });

  it('marks a class-guarded operation with bearerAuth', () => {
    const doc = spec();
    assert.deepEqual(doc.paths['/docs/items/{id}'].get.security, [{ bearerAuth: [] }]);
    assert.deepEqual(doc.components?.securitySchemes?.bearerAuth, { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
  });

  it('gives an optional route [{}, ...]', () => {
    assert.deepEqual(spec().paths['/docs/feed'].get.security, [{}, { bearerAuth: [] }]);
  });

  it('a cookie location on a CSRF-checked method needs the cookie and the CSRF header together', () => {
    const doc = spec();
    assert.deepEqual(doc.paths['/docs/items'].post.security, [{ cookieAuth: [], csrfToken: [] }, { bearerAuth: [] }]);
    assert.deepEqual(doc.components?.securitySchemes?.cookieAuth, { type: 'apiKey', in: 'cookie', name: 'access_token_cookie' });
    assert.deepEqual(doc.components?.securitySchemes?.csrfToken, { type: 'apiKey', in: 'header', name: 'X-CSRF-TOKEN' });
  });

  it('a refresh route reads the refresh cookie and its CSRF header', () => {
    const doc = spec({ refreshCsrfHeaderName: 'X-CSRF-REFRESH' });
    assert.deepEqual(doc.paths['/docs/refresh'].post.security, [{ refreshCookieAuth: [], refreshCsrfToken: [] }]);
    assert.deepEqual(doc.components?.securitySchemes?.refreshCsrfToken, { type: 'apiKey', in: 'header', name: 'X-CSRF-REFRESH' });
  });

  it('a query location is an apiKey in the query', () => {
    const doc = spec({ queryStringName: 'token' });
    assert.deepEqual(doc.paths['/docs/by-query'].get.security, [{ queryAuth: [] }]);
    assert.deepEqual(doc.components?.securitySchemes?.queryAuth, { type: 'apiKey', in: 'query', name: 'token' });
  });

  it('another header name is an apiKey header scheme, and only schemes in use are added', () => {
    const doc = spec({ headerName: 'X-Token', headerType: '' });
    assert.deepEqual(doc.paths['/docs/items/{id}'].get.security, [{ headerAuth: [] }]);
    assert.equal(doc.components?.securitySchemes?.bearerAuth, undefined);
    assert.deepEqual((doc.components?.securitySchemes?.headerAuth as { name: string }).name, 'X-Token');
  });
});

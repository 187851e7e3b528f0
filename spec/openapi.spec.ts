/**
 * addJwtSecurity() over a document made by the real routing-controllers-openapi: the
 * schemes in use, and a `security` entry on exactly the guarded operations.
 */
import assert from 'node:assert/strict';
import { Authorized, Delete, Get, getMetadataArgsStorage, JsonController, Param, Post } from 'routing-controllers';
import { routingControllersToSpec } from 'routing-controllers-openapi';
import { addJwtSecurity, FreshJwtRequired, JwtManager, JwtOptional, JwtOptions, JwtRequired, openApiStorage, RefreshRequired } from '../src';
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

/** An abstract base with routes, served only by the controllers that extend it. */
abstract class DocsCrudBase {
  @Get('/list')
  list() {
    return [];
  }

  @Delete('/:id')
  remove(@Param('id') id: string) {
    return { removed: id };
  }
}

@JsonController('/docs-admin')
@JwtRequired({ roles: ['admin'] })
class DocsAdminController extends DocsCrudBase {}

@JsonController('/docs-public')
class DocsPublicController extends DocsCrudBase {}

@JsonController('/docs-authorized')
class DocsAuthorizedController {
  @Get('/mine')
  @Authorized()
  mine() {
    return {};
  }

  @Get('/open')
  open() {
    return {};
  }
}

@JsonController('/docs-authorized-class')
@Authorized(['admin'])
class DocsAuthorizedClassController {
  @Get('/all')
  all() {
    return {};
  }
}

/** openApiStorage() limited to these controllers (other specs register controllers too). */
function viewFor(controllers: Function[]) {
  const mine = new Set(controllers);
  const view = openApiStorage(getMetadataArgsStorage());
  return Object.assign(Object.create(view), {
    actions: view.actions.filter((a) => mine.has(a.target)),
    controllers: view.controllers.filter((c) => mine.has(c.target)),
  });
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

describe('openapi: controllers with an abstract base, and @Authorized routes', () => {
  beforeEach(() => JwtManager.configure({ secret: SECRET }));
  afterEach(() => JwtManager.reset());

  it('routingControllersToSpec() crashes on the raw storage with an abstract base (why openApiStorage exists)', () => {
    const storage = getMetadataArgsStorage();
    const mine = new Set<Function>([DocsCrudBase, DocsAdminController]);
    const raw = Object.assign(Object.create(storage), {
      actions: storage.actions.filter((a) => mine.has(a.target)),
      controllers: storage.controllers.filter((c) => mine.has(c.target)),
    });
    assert.throws(() => routingControllersToSpec(raw), TypeError);
  });

  it('openApiStorage() lists each inherited route under every controller that serves it', () => {
    const doc = routingControllersToSpec(viewFor([DocsAdminController, DocsPublicController])) as unknown as Doc;
    assert.deepEqual(Object.keys(doc.paths).sort(), ['/docs-admin/list', '/docs-admin/{id}', '/docs-public/list', '/docs-public/{id}']);
  });

  it('an inherited route under a guarded class gets security; the same route under an open class does not', () => {
    const doc = addJwtSecurity(routingControllersToSpec(viewFor([DocsAdminController, DocsPublicController]))) as unknown as Doc;
    assert.deepEqual(doc.paths['/docs-admin/list'].get.security, [{ bearerAuth: [] }]);
    assert.deepEqual(doc.paths['/docs-admin/{id}'].delete.security, [{ bearerAuth: [] }]);
    assert.equal(doc.paths['/docs-public/list'].get.security, undefined);
    assert.equal(doc.paths['/docs-public/{id}'].delete.security, undefined);
  });

  it('@Authorized() on a method gets security; its open neighbour does not', () => {
    const doc = addJwtSecurity(routingControllersToSpec(viewFor([DocsAuthorizedController]))) as unknown as Doc;
    assert.deepEqual(doc.paths['/docs-authorized/mine'].get.security, [{ bearerAuth: [] }]);
    assert.equal(doc.paths['/docs-authorized/open'].get.security, undefined);
  });

  it('@Authorized() on a class covers its routes, with the configured locations', () => {
    JwtManager.configure({ secret: SECRET, tokenLocation: ['headers', 'cookies'] });
    const doc = addJwtSecurity(routingControllersToSpec(viewFor([DocsAuthorizedClassController]))) as unknown as Doc;
    assert.deepEqual(doc.paths['/docs-authorized-class/all'].get.security, [{ bearerAuth: [] }, { cookieAuth: [] }]);
  });
});

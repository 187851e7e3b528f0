/**
 * Serving test controllers: configure the manager, then serve exactly the given
 * routing-controllers classes with plain `createKoaServer()` on an ephemeral port.
 */
import type { Server } from 'node:http';
import { createKoaServer } from 'routing-controllers';
import { JwtManager, JwtOptions } from '../../src';

/** A 32+ byte HMAC secret shared by the specs and the forging helper. */
export const SECRET = 'spec-secret-0123456789-abcdefghijklmnop';

/**
 * Configures `JwtManager` (secret defaults to `SECRET`) and serves `controllers`.
 *
 * @example const server = serve([ProtectedController], { revocation: { store, checks: 'all' } })
 */
export function serve(controllers: Function[], options: Partial<JwtOptions> = {}): Server {
  JwtManager.configure({ secret: SECRET, ...options });
  const app = createKoaServer({ controllers });
  app.silent = true;
  return app.listen(0);
}

/** Closes the server and drops the manager singleton. */
export function stop(server: Server | undefined): void {
  server?.close();
  JwtManager.reset();
}

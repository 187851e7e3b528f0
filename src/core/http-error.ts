/**
 * `JwtHttpError` without routing-controllers: a plain `Error` with routing-controllers'
 * `httpCode`, so the testing kit and a plain Koa app use it with nothing else installed. When
 * routing-controllers is loaded (src/decorators/routing-controllers.ts), its prototype chain
 * gains routing-controllers' `HttpError`, so a refusal escaping into a routing-controllers
 * response answers with this status and body, not a 500.
 */
import type { JwtError } from './errors';

/**
 * A refusal of a directly called method: what the HTTP route would have answered. `B` types
 * the body: by default the `{ msg }`-style object of the default answers (`e.body.msg`); give
 * your loaders' body type when they answer otherwise.
 *
 * @example
 * await assert.rejects(withToken(undefined, () => controller.profile()), (e: JwtHttpError) => e.status === 401);
 */
export class JwtHttpError<B = Record<string, unknown>> extends Error {
  /** The status, as routing-controllers' error handler reads it. */
  httpCode: number;

  constructor(readonly status: number, readonly body: B, override readonly cause: JwtError) {
    super(cause.message);
    this.httpCode = status;
    this.name = 'JwtHttpError';
  }

  /** routing-controllers sends this as the JSON body. */
  toJSON(): B {
    return this.body;
  }
}

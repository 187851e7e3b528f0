import assert from 'node:assert/strict';
import type { Response } from 'supertest';

/** Asserts status and JSON body together, showing both on failure. */
export function expectResponse(res: Response, status: number, body: unknown): void {
  assert.deepEqual({ status: res.status, body: res.body }, { status, body });
}

/** A 422 whose message is a short reason: one line, no stack, no raw parser error. */
export function expectShortReason(res: Response, key = 'msg'): void {
  assert.equal(res.status, 422, `status ${res.status} body ${JSON.stringify(res.body)}`);
  assert.match(res.type, /json/);
  assert.deepEqual(Object.keys(res.body), [key]);
  const message = res.body[key];
  assert.equal(typeof message, 'string');
  assert.ok(message.length > 0 && message.length <= 100, `too long: ${message}`);
  assert.doesNotMatch(message, /\n|\bat .+:\d+|SyntaxError|Unexpected token|TypeError|undefined/);
}

// The error a client call rejects with, asserted to be a ConfigSidecarError
// (and the call asserted to reject at all).
import assert from 'node:assert/strict';
import { ConfigSidecarError } from '../../client/index.js';

export async function rejection(promise: Promise<unknown>): Promise<ConfigSidecarError> {
  const error = await promise.then(
    () => assert.fail('expected the call to be refused'),
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof ConfigSidecarError, `expected a ConfigSidecarError, got ${String(error)}`);
  return error;
}

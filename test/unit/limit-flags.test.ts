// `serve --limit NAME=VALUE` parsing: every limit can be set, anything else is
// refused with a message naming the flag (cli/main.ts turns it into exit 2).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseLimitFlags } from '../../cli/limit-flags.js';
import { parseQuarantineFlag } from '../../cli/quarantine-flag.js';
import { DEFAULT_QUARANTINE } from '../../sidecar/file/quarantine.js';
import { DEFAULT_LIMITS, type Limits } from '../../protocol/index.js';

describe('parseLimitFlags', () => {
  test('no flags: no overrides (the defaults apply)', () => {
    assert.deepEqual(parseLimitFlags([]), {});
  });

  test('every limit of DEFAULT_LIMITS can be set by its name', () => {
    const names = Object.keys(DEFAULT_LIMITS) as (keyof Limits)[];
    const flags = names.map((name, i) => `${name}=${i + 1}`);
    assert.deepEqual(parseLimitFlags(flags), Object.fromEntries(names.map((name, i) => [name, i + 1])));
  });

  test('the same limit twice: the last one wins, as with any repeated flag', () => {
    assert.deepEqual(parseLimitFlags(['maxDepth=8', 'maxDepth=16']), { maxDepth: 16 });
  });

  test('values up to the largest safe integer are taken as given', () => {
    assert.deepEqual(parseLimitFlags(['maxDocumentBytes=1', `maxOutboundBytes=${Number.MAX_SAFE_INTEGER}`]), {
      maxDocumentBytes: 1,
      maxOutboundBytes: Number.MAX_SAFE_INTEGER,
    });
  });

  for (const flag of ['maxdepth=8', 'depth=8', 'maxDepth ', '=8', '__proto__=1', 'constructor=1', 'toString=1', 'maxDepth']) {
    test(`an unknown name or a missing "=" is refused, listing the names: ${JSON.stringify(flag)}`, () => {
      assert.throws(() => parseLimitFlags([flag]), (error: Error) => {
        assert.ok(error.message.startsWith(`--limit ${flag}:`), error.message);
        for (const name of Object.keys(DEFAULT_LIMITS)) assert.ok(error.message.includes(name), `lists ${name}`);
        return true;
      });
    });
  }

  for (const value of ['1.5', 'abc', '', ' 8', '8 ', '1e3', '0x10', '+8', '-1', '8MiB', 'Infinity', 'NaN', '9007199254740993']) {
    test(`a value that is not a plain positive integer is refused: ${JSON.stringify(value)}`, () => {
      assert.throws(() => parseLimitFlags([`maxDepth=${value}`]), { message: `--limit maxDepth=${value}: maxDepth must be a positive integer` });
    });
  }

  test('zero is refused: no limit may switch a feature off by accident', () => {
    for (const name of Object.keys(DEFAULT_LIMITS)) {
      assert.throws(() => parseLimitFlags([`${name}=0`]), { message: `--limit ${name}=0: ${name} must be a positive integer` });
    }
  });

  test('one bad flag among good ones refuses the whole command line', () => {
    assert.throws(() => parseLimitFlags(['maxDepth=8', 'maxDepth=0', 'maxArrayLength=5']), /maxDepth=0/);
  });
});

test('--quarantine FILES,BYTES: either part may keep its default; anything but positive decimals is refused', () => {
  assert.deepEqual(parseQuarantineFlag('5,1000'), { maxFiles: 5, maxBytes: 1000 });
  assert.deepEqual(parseQuarantineFlag('50,'), { maxFiles: 50, maxBytes: DEFAULT_QUARANTINE.maxBytes });
  assert.deepEqual(parseQuarantineFlag(',1048576'), { maxFiles: DEFAULT_QUARANTINE.maxFiles, maxBytes: 1048576 });
  for (const bad of ['5', '0,1', '1,0', '1e3,', 'a,b', '1,2,3', ' 5,']) assert.throws(() => parseQuarantineFlag(bad), /--quarantine/);
});

// docs/protocol.md against the code: every op, error code and limit is
// documented, the documented defaults are the real ones, and every plain hex
// example is a frame of the golden corpus.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { describe, test } from 'node:test';
import { ClientErrorCode } from '../../client/client-errors.js';
import { DEFAULT_LIMITS, ERROR_CODES, REQUEST_OPS, maxResponseFrameBytes } from '../../protocol/index.js';

const doc = readFileSync(new URL('../../../docs/protocol.md', import.meta.url), 'utf8');
const corpusDir = new URL('../../../test/fixtures/frames/', import.meta.url);

describe('docs/protocol.md', () => {
  test('documents every request op, or lists it as reserved', () => {
    const reserved = doc.match(/`(\w+)` and `(\w+)` \(DESIGN §4\) are \*\*reserved/);
    const reservedOps = new Set(reserved?.slice(1) ?? []);
    for (const op of REQUEST_OPS) {
      if (!reservedOps.has(op)) assert.match(doc, new RegExp(`### ${op}\\n`), `no section for ${op}`);
    }
  });

  test('lists every wire error code and every client-only code in its tables', () => {
    for (const code of [...ERROR_CODES, ...Object.values(ClientErrorCode)]) assert.match(doc, new RegExp(`\\| \`${code}\` \\|`), code);
  });

  test('gives the real default of every limit', () => {
    for (const [name, value] of Object.entries(DEFAULT_LIMITS)) {
      const row = doc.match(new RegExp(`\\| \`${name}\` \\| ([0-9,]+) \\|`));
      assert.ok(row, `no row for ${name}`);
      assert.equal(Number(row[1]!.replaceAll(',', '')), value, name);
    }
    assert.match(doc, new RegExp(maxResponseFrameBytes(DEFAULT_LIMITS).toLocaleString('en-US')));
  });

  test('every plain hex example is a frame of the golden corpus', () => {
    const corpus = new Set(
      readdirSync(corpusDir)
        .filter((f) => f.endsWith('.hex'))
        .map((f) =>
          readFileSync(new URL(f, corpusDir), 'utf8')
            .split('\n')
            .filter((line) => !line.startsWith('#'))
            .join(''),
        ),
    );
    const blocks = [...doc.matchAll(/```\n([\s\S]*?)```/g)].map((m) => m[1]!.trim().split('\n'));
    const hexBlocks = blocks.filter((lines) => lines.every((line) => /^[0-9a-f]+$/.test(line)));
    assert.ok(hexBlocks.length >= 6, 'the examples are still there');
    for (const lines of hexBlocks) assert.ok(corpus.has(lines.join('')), `not in the corpus: ${lines[1]}…`);
  });
});

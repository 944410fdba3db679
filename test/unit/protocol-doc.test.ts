// docs/protocol.md against the code: every op, push message, error code and
// limit is documented, the documented defaults are the real ones, and every
// hex example (plain or annotated byte by byte) is a frame of the golden corpus.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { describe, test } from 'node:test';
import { ClientErrorCode } from '../../client/client-errors.js';
import { DEFAULT_LIMITS, ERROR_CODES, REQUEST_OPS, ResyncReasonSchema, WatchEventSchema, maxResponseFrameBytes } from '../../protocol/index.js';
import { DEFAULT_HISTORY } from '../../sidecar/store/history.js';

const doc = readFileSync(new URL('../../../docs/protocol.md', import.meta.url), 'utf8');
const corpusDir = new URL('../../../test/fixtures/frames/', import.meta.url);

describe('docs/protocol.md', () => {
  test('documents every request op in its own section; none is left reserved', () => {
    for (const op of REQUEST_OPS) assert.match(doc, new RegExp(`### ${op}\\n`), `no section for ${op}`);
    assert.doesNotMatch(doc, /\*\*reserved for a later/);
  });

  test('documents every message the sidecar pushes and every resync reason', () => {
    for (const type of ['event', 'progress']) assert.match(doc, new RegExp(`type: "${type}"`), type);
    for (const reason of ResyncReasonSchema.options) assert.match(doc, new RegExp(`\`resync: "${reason}"\``), reason);
    for (const source of WatchEventSchema.shape.source.options) assert.match(doc, new RegExp(`\`"${source}"\``), source);
  });

  test('states the real history retention and progress interval', () => {
    assert.match(doc, new RegExp(`last ${DEFAULT_HISTORY.minEntries.toLocaleString('en-US')} revisions`));
    assert.match(doc, new RegExp(`${DEFAULT_HISTORY.minAgeMs / 60_000} minutes`));
    assert.match(doc, new RegExp(`${DEFAULT_HISTORY.maxBytes / 1024 / 1024} MiB`));
    assert.match(doc, /idle for 10 s/);
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
    assert.ok(hexBlocks.length >= 10, 'the examples are still there');
    for (const lines of hexBlocks) assert.ok(corpus.has(lines.join('')), `not in the corpus: ${lines[1]}…`);

    // Annotated examples: a length line, then lines of hex byte groups followed by a comment.
    const annotated = blocks.filter((lines) => /^[0-9a-f]{8}$/.test(lines[0]!) && !hexBlocks.includes(lines));
    assert.ok(annotated.length >= 3, 'the annotated examples are still there');
    for (const lines of annotated) {
      const bytes = lines.slice(1).map((line) => {
        const groups: string[] = [];
        for (const token of line.trim().split(/\s+/)) {
          if (!/^([0-9a-f]{2})+$/.test(token)) break;
          groups.push(token);
        }
        return groups.join('');
      });
      const hex = lines[0]! + bytes.join('');
      assert.ok(corpus.has(hex), `annotated example not in the corpus: ${lines[1]!.trim()}…`);
    }
  });
});

// Every reference in the repository resolves inside it: no tracked source or
// doc file cites a document kept elsewhere (a design or style document, a
// defect report or tracker item by number), every docs/<file>.md named exists
// and holds the section quoted after it, every section number of
// docs/protocol.md cited is one of its sections, and every docs/defects.md
// entry cited exists and names test files that exist.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** What a citation of a document outside the repository looks like. */
const OUTSIDE: ReadonlyArray<{ what: string; pattern: RegExp }> = [
  { what: 'a design document outside the repository', pattern: /\bDESIGN(?:\.md\b|\s*\u00a7)/ },
  { what: 'a style guide outside the repository', pattern: /\bSTYLE\.md\b/ },
  { what: 'a defect report by file number', pattern: /\bseeds?\s*\/?\s*0\d\d\b/i },
  { what: 'a defect report by product', pattern: /\b(?:kodegen|zjj|mcpproxy|keyrx|hmac file-server)\b\s*(?:#|report|audit)/i },
  { what: 'a tracker item', pattern: /\bissue \d+\b|\bzjj-[a-z0-9]+\b/i },
  { what: 'a directory outside the repository', pattern: /(?<![\w-])shared\// },
  { what: 'a defect by its number in an outside report', pattern: /(?<![\w&$'"`/])#\d{1,2}(?![\w-])/ },
];

/** Tracked and new (not ignored) files, without binary data and generated lock files. */
function repositoryFiles(): string[] {
  const listed = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], { cwd: ROOT, encoding: 'utf8' });
  return [...new Set(listed.split('\0'))]
    .filter((file) => file !== '' && !file.endsWith('.hex') && path.basename(file) !== 'package-lock.json')
    .filter((file) => existsSync(path.join(ROOT, file)))
    .sort();
}

function readText(file: string): string | undefined {
  const text = readFileSync(path.join(ROOT, file), 'utf8');
  return text.includes('\0') ? undefined : text;
}

/** Section numbers of docs/protocol.md ("## 13. Durability" is §13). */
function protocolSections(): Set<number> {
  const doc = readFileSync(path.join(ROOT, 'docs', 'protocol.md'), 'utf8');
  return new Set([...doc.matchAll(/^## (\d+)\. /gm)].map((match) => Number(match[1])));
}

interface DefectEntry {
  id: string;
  body: string;
}

function defectEntries(): DefectEntry[] {
  const doc = readFileSync(path.join(ROOT, 'docs', 'defects.md'), 'utf8');
  return doc
    .split(/^(?=### )/m)
    .filter((part) => part.startsWith('### '))
    .map((part) => ({ id: /^### (D\d+) — /.exec(part)?.[1] ?? part.split('\n', 1)[0]!, body: part }));
}

/** file:line: what — the line, for every line of every file that `check` objects to. */
function scan(files: readonly string[], check: (line: string, file: string) => string | undefined): string[] {
  const findings: string[] = [];
  for (const file of files) {
    const text = readText(file);
    if (text === undefined) continue;
    text.split('\n').forEach((line, index) => {
      const problem = check(line, file);
      if (problem !== undefined) findings.push(`${file}:${index + 1}: ${problem}: ${line.trim().slice(0, 160)}`);
    });
  }
  return findings;
}

function outsideReference(line: string): string | undefined {
  return OUTSIDE.find(({ pattern }) => pattern.test(line))?.what;
}

/** The files to scan come from git; a copy without its .git (an unpacked tarball) has no list to check. */
const CHECKOUT = existsSync(path.join(ROOT, '.git'));

describe('references resolve inside the repository', { skip: !CHECKOUT && 'not a git checkout' }, () => {
  const files = CHECKOUT ? repositoryFiles() : [];

  test('no file cites a document kept outside the repository', () => {
    const findings = scan(files, outsideReference);
    if (findings.length > 0) assert.fail(`cite docs/ instead (docs/defects.md for the failures, docs/protocol.md, docs/operations.md, docs/decisions.md):\n${findings.join('\n')}`);
  });

  test('every docs/<file>.md named, and every relative .md link, exists', () => {
    const findings = scan(files, (line, file) => {
      for (const match of line.matchAll(/\bdocs\/([\w.-]+?\.md)\b/g)) {
        if (!existsSync(path.join(ROOT, 'docs', match[1]!))) return `docs/${match[1]} does not exist`;
      }
      if (!file.endsWith('.md')) return undefined;
      for (const match of line.matchAll(/\]\(([\w./-]+?\.md)(?:#[\w-]*)?\)/g)) {
        if (!existsSync(path.join(ROOT, path.dirname(file), match[1]!))) return `${match[1]} does not exist`;
      }
      return undefined;
    });
    if (findings.length > 0) assert.fail(findings.join('\n'));
  });

  test('every section named in quotes after a docs/<file>.md is in that file', () => {
    const findings = scan(files, (line) => {
      for (const match of line.matchAll(/\bdocs\/([\w.-]+?\.md)(?:,\s*|\s*\(|\s+)"([^"]+)"/g)) {
        const doc = path.join(ROOT, 'docs', match[1]!);
        if (existsSync(doc) && !readFileSync(doc, 'utf8').toLowerCase().includes(match[2]!.toLowerCase())) return `docs/${match[1]} has no "${match[2]}"`;
      }
      return undefined;
    });
    if (findings.length > 0) assert.fail(findings.join('\n'));
  });

  test('every section number cited is a section of docs/protocol.md', () => {
    const sections = protocolSections();
    const findings = scan(files, (line, file) => {
      if (!line.includes('\u00a7')) return undefined;
      if (file !== 'docs/protocol.md' && !/protocol\.md[^\u00a7]*\u00a7/.test(line)) return 'a section sign without docs/protocol.md before it on the line';
      for (const match of line.matchAll(/\u00a7\s*(\d+)/g)) {
        if (!sections.has(Number(match[1]))) return `docs/protocol.md has no section ${match[1]}`;
      }
      return undefined;
    });
    if (findings.length > 0) assert.fail(findings.join('\n'));
  });

  test('every docs/defects.md entry cited exists', () => {
    const ids = new Set(defectEntries().map((entry) => entry.id));
    const findings = scan(files, (line) => {
      const at = line.indexOf('docs/defects.md');
      if (at < 0) return undefined;
      const unknown = [...line.slice(at).matchAll(/\bD\d+\b/g)].map((match) => match[0]).filter((id) => !ids.has(id));
      return unknown.length > 0 ? `no entry ${unknown.join(', ')} in docs/defects.md` : undefined;
    });
    if (findings.length > 0) assert.fail(findings.join('\n'));
  });
});

describe('docs/defects.md', () => {
  const entries = defectEntries();

  test('entries are numbered D1, D2, … in order, each titled "### Dn — what went wrong"', () => {
    assert.ok(entries.length > 0);
    assert.deepEqual(entries.map((entry) => entry.id), entries.map((_, index) => `D${index + 1}`));
  });

  test('each entry names the tests that reproduce it, or says it is not yet covered; every test named exists', () => {
    for (const { id, body } of entries) {
      const named = [...body.matchAll(/`((?:test|bench)\/[\w./-]+\.ts)`/g)].map((match) => match[1]!);
      assert.ok(/^Tests: /m.test(body) || /^Not yet covered: /m.test(body), `${id} has neither a "Tests:" nor a "Not yet covered:" line`);
      if (/^Tests: /m.test(body)) assert.ok(named.some((file) => file.endsWith('.test.ts')), `${id} names no test file`);
      for (const file of named) assert.ok(existsSync(path.join(ROOT, file)), `${id} names ${file}, which does not exist`);
    }
  });
});

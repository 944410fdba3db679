// A system-wide sidecar shared by a group, as docs/operations.md sets it up:
// the main socket 0660 for a group with full access, a read-only socket 0660
// for a second group, each tried by a real user of that group.
import assert from 'node:assert/strict';
import { chmod, mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { cannotCreateUsers, collect, createGroup, createUser, runAs, spawnAs } from '../helpers/local-users.js';
import { startSidecar } from '../helpers/sidecar-process.js';
import { testPaths } from '../helpers/temp-dir.js';

test('a group with full access writes through the 0660 socket; a read-only user gets, watches, checks health and info on the read-only socket, and every write there is READ_ONLY', async (t) => {
  const why = cannotCreateUsers();
  if (why !== undefined) return t.skip(why);
  const paths = await testPaths(t);
  const editors = await createGroup(t);
  const readers = await createGroup(t);
  const editor = await createUser(t, paths.dir, editors);
  if ('skip' in editor) return t.skip(editor.skip);
  const reader = await createUser(t, paths.dir, readers);
  if ('skip' in reader) return t.skip(reader.skip);
  // The service's runtime directory: root's, enterable by all (systemd's RuntimeDirectoryMode=0755); the sockets' modes decide.
  const run = path.dirname(paths.socketPath);
  await mkdir(run, { mode: 0o755 });
  await chmod(run, 0o755);
  const readOnlySocket = path.join(run, 'ro.sock');
  await startSidecar(t, paths, {
    extraArgs: ['--socket-mode', '0660', '--socket-group', editors.name, '--read-only-socket', readOnlySocket, '--read-only-socket-mode', '0660', '--read-only-socket-group', readers.name],
  });
  const main = await stat(paths.socketPath);
  assert.equal(main.mode & 0o777, 0o660);
  assert.equal(main.gid, editors.gid);
  const ro = await stat(readOnlySocket);
  assert.equal(ro.mode & 0o777, 0o660);
  assert.equal(ro.gid, readers.gid);

  const set = await runAs(editor, [editor.cli, 'set', 'feature.enabled', 'true', '--socket', paths.socketPath]);
  assert.equal(set.code, 0, set.stderr);
  const editorGet = await runAs(editor, [editor.cli, 'get', 'feature.enabled', '--socket', paths.socketPath]);
  assert.equal(editorGet.stdout, 'true\n', editorGet.stderr);

  const get = await runAs(reader, [reader.cli, 'get', 'feature.enabled', '--socket', readOnlySocket]);
  assert.equal(get.stdout, 'true\n', get.stderr);
  const health = await runAs(reader, [reader.cli, 'health', '--socket', readOnlySocket]);
  assert.equal(health.code, 0, health.stderr);
  const info = await runAs(reader, [reader.cli, 'info', '--socket', readOnlySocket]);
  assert.equal(info.code, 0, info.stderr);
  for (const write of [['set', 'feature.enabled', 'false'], ['unset', 'feature'], ['restore', '1']]) {
    const refused = await runAs(reader, [reader.cli, ...write, '--socket', readOnlySocket]);
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, new RegExp(`READ_ONLY: ${write[0] === 'unset' ? 'delete' : write[0]} is refused on the read-only socket`));
  }
  // The main socket is not the readers' to use at all.
  const denied = await runAs(reader, [reader.cli, 'get', 'feature.enabled', '--socket', paths.socketPath, '--timeout', '1500']);
  assert.equal(denied.code, 3, denied.stderr);
  assert.match(denied.stderr, /EACCES/);

  // A watch on the read-only socket sees the editor's next write.
  const watch = spawnAs(reader, [reader.cli, 'watch', 'feature', '--socket', readOnlySocket]);
  const lines: string[] = [];
  const seen = new Promise<void>((resolve) => {
    let buffer = '';
    watch.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      buffer += chunk;
      lines.push(...buffer.split('\n').slice(0, -1));
      buffer = buffer.slice(buffer.lastIndexOf('\n') + 1);
      if (lines.length === 1) void runAs(editor, [editor.cli, 'set', 'feature.enabled', 'false', '--socket', paths.socketPath]);
      if (lines.length >= 2) resolve();
    });
  });
  const outcome = collect(watch, 'watch as the reader', 30_000);
  await seen;
  watch.kill('SIGTERM');
  await outcome;
  assert.match(lines[0]!, /true/, 'the snapshot first');
  assert.match(lines[1]!, /false/, 'then the change');
});

// How long the window is in which a hand edit renamed into place can still be
// overwritten by a flush: from the end of the flush's last check of the file
// (its stat) to the end of its rename. Measured on the real code path
// (durableReplace with a check in beforeRename and the synchronous rename),
// N times in a temp directory on the file system the config would be on.
// Usage: node dist/bench/overwrite-window.js [N] [DIR]
import { statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { durableReplace } from '../sidecar/disk/durable-write.js';
import { realFs, type FsOps } from '../sidecar/disk/fs-ops.js';

const runs = Number(process.argv[2] ?? 2000);
const dir = await mkdtemp(path.join(process.argv[3] ?? os.tmpdir(), 'window-'));
const target = path.join(dir, 'config.json');
await writeFile(target, '{}');
let checkedAt = 0n;
const windows: number[] = [];
const fs: FsOps = {
  ...realFs,
  renameSync: (from, to) => {
    realFs.renameSync!(from, to);
    windows.push(Number(process.hrtime.bigint() - checkedAt) / 1000);
  },
};
try {
  for (let i = 0; i < runs; i++) {
    await durableReplace(target, Buffer.from(`{"i":${i}}`), {
      fs,
      mode: 0o600,
      beforeRename: () => {
        statSync(target, { bigint: true });
        checkedAt = process.hrtime.bigint();
      },
    });
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
windows.sort((a, b) => a - b);
const at = (q: number) => windows[Math.min(windows.length - 1, Math.floor(q * windows.length))]!.toFixed(1);
process.stdout.write(`${JSON.stringify({ runs, windowMicroseconds: { p50: at(0.5), p99: at(0.99), max: at(1) } })}\n`);

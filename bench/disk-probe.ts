// What durability costs on this machine's disk, measured directly, so the
// durable-set ratios can be read against it: the sidecar's flush replaces a
// whole file (temp write, fsync, rename, fsync of the directory), while a
// WAL database appends a record and syncs it.
import { open, rename } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { round } from './latency-histogram.js';

export interface DiskProbe {
  fileBytes: number;
  samples: number;
  /** Median ms of each step of one durable file replacement, and of the whole. */
  replace: { writeMs: number; fsyncMs: number; renameMs: number; dirFsyncMs: number; totalMs: number };
  /** Median ms of appending 100 bytes and fdatasync (a WAL commit's I/O). */
  appendDatasyncMs: number;
}

export async function probeDisk(dir: string, fileBytes: number, samples: number): Promise<DiskProbe> {
  const target = path.join(dir, 'probe.json');
  const data = Buffer.alloc(fileBytes, 0x61);
  const steps = { writeMs: [] as number[], fsyncMs: [] as number[], renameMs: [] as number[], dirFsyncMs: [] as number[], totalMs: [] as number[] };
  for (let i = 0; i < samples; i++) {
    const temp = `${target}.tmp-${i}`;
    const t0 = performance.now();
    const handle = await open(temp, 'wx', 0o600);
    await handle.write(data, 0, data.length);
    const t1 = performance.now();
    await handle.sync();
    await handle.close();
    const t2 = performance.now();
    await rename(temp, target);
    const t3 = performance.now();
    const dirHandle = await open(dir, 'r');
    await dirHandle.sync();
    await dirHandle.close();
    const t4 = performance.now();
    steps.writeMs.push(t1 - t0);
    steps.fsyncMs.push(t2 - t1);
    steps.renameMs.push(t3 - t2);
    steps.dirFsyncMs.push(t4 - t3);
    steps.totalMs.push(t4 - t0);
  }
  const log = await open(path.join(dir, 'probe.wal'), 'a');
  const record = Buffer.alloc(100, 0x62);
  const appends: number[] = [];
  try {
    for (let i = 0; i < samples; i++) {
      const t0 = performance.now();
      await log.write(record);
      await log.datasync();
      appends.push(performance.now() - t0);
    }
  } finally {
    await log.close();
  }
  return {
    fileBytes,
    samples,
    replace: {
      writeMs: median(steps.writeMs),
      fsyncMs: median(steps.fsyncMs),
      renameMs: median(steps.renameMs),
      dirFsyncMs: median(steps.dirFsyncMs),
      totalMs: median(steps.totalMs),
    },
    appendDatasyncMs: median(appends),
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return round(sorted[Math.floor((sorted.length - 1) / 2)] ?? 0);
}

// Durable-set baseline (a): SQLite through node:sqlite, journal_mode=WAL,
// synchronous=FULL (every commit fsyncs the WAL), busy_timeout=5000. Each
// process inserts unique keys, one autocommit INSERT OR REPLACE per write,
// for --duration-ms. node:sqlite is synchronous, so one write is in flight
// per process — which is how a process uses SQLite for config.
import { DatabaseSync } from 'node:sqlite';
import { runTimedWrites, sqlKey, writeValue } from './durable-write-result.js';
import { numberArg, startWorker, stringArg } from './worker-lifecycle.js';

const worker = startWorker('sqlite-worker', {
  db: { type: 'string' },
  'worker-index': { type: 'string' },
  'duration-ms': { type: 'string', default: '10000' },
});
const dbPath = stringArg(worker.values, 'db');
const index = numberArg(worker.values, 'worker-index');
const durationMs = numberArg(worker.values, 'duration-ms');

const db = new DatabaseSync(dbPath);
db.exec('PRAGMA busy_timeout = 5000');
db.exec('PRAGMA journal_mode = WAL');
db.exec('PRAGMA synchronous = FULL');
const insert = db.prepare('INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)');
// Open the WAL index before the clock starts, as a long-running process would have.
db.prepare('SELECT count(*) AS n FROM kv').get();
await worker.ready();
const result = await runTimedWrites({
  workerIndex: index,
  durationMs,
  lanes: 1,
  write: (seq) => insert.run(sqlKey(index, seq), writeValue(index, seq)),
  // e.g. SQLITE_BUSY_SNAPSHOT: another process committed between this statement's read and its write lock.
  describeError: (error) => {
    const e = error as { errcode?: number; errstr?: string; message?: string };
    return e.errcode === undefined ? String(error) : `sqlite ${e.errcode}: ${e.errstr ?? e.message}`;
  },
});
db.close();
worker.finish(result);

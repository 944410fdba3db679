// The commit journal, the sidecar's commit point: one record per flush group
// (its revisions and their changes), appended to a file in the owner's
// generation directory and made durable before the group is acknowledged.
// The config file is a checkpoint rewritten behind it (checkpoint-writer.ts);
// after each rewrite is renamed into place a `file` record names the
// revision and hash it holds, so a restart knows how far behind the file is.
// Each journal file starts with a checkpoint: a snapshot of the document it
// builds on, in a file beside it (or none: an empty config), so the last
// acknowledged state can be rebuilt from the journal alone, whatever happened
// to the config file. Records are framed with their length and a CRC32: a
// torn tail (a crash mid-append) is detected and dropped. Why a journal and
// how it is fenced: docs/decisions.md ("The commit journal").
import path from 'node:path';
import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { z } from 'zod';
import { applyChanges, OwnedCopies, type JsonObject } from '../store/document.js';
import { syncDirectory, type FsOps } from '../disk/fs-ops.js';
import { decodeFrames, encodeFrame } from '../disk/framed-records.js';

const ChangeSchema = z.object({ segments: z.array(z.string()), value: z.unknown().optional(), deleted: z.literal(true).optional() });
const RecordSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('checkpoint'),
    revision: z.number().int(),
    /**
     * The file text the journal builds on and its hash: in a snapshot file beside the journal (`snapshot`),
     * or inline as base64 (`bytes`, journals of earlier versions); null: an empty config, no file.
     */
    base: z.object({ sha256: z.string(), snapshot: z.string().regex(/^snapshot-\d+$/).optional(), bytes: z.string().optional() }).nullable(),
  }),
  z.object({
    kind: z.literal('commit'),
    first: z.number().int(),
    last: z.number().int(),
    changes: z.array(ChangeSchema),
    /** The hash of the file this commit left (journals of earlier versions, which rewrote the file per commit). */
    sha256: z.string().optional(),
    /** The schema version the file declares after this commit (with a versioned schema in force). */
    version: z.number().int().optional(),
  }),
  /** The commit starting at `first` was answered WRITE_FAILED: it never happened (journals of earlier versions). */
  z.object({ kind: z.literal('abort'), first: z.number().int() }),
  /** The config file holds the document at `revision`, whose text hashes to `sha256` (appended after its rename). */
  z.object({ kind: z.literal('file'), revision: z.number().int(), sha256: z.string() }),
]);
export type JournalRecord = z.infer<typeof RecordSchema>;
export type CheckpointRecord = Extract<JournalRecord, { kind: 'checkpoint' }>;
export type CommitRecord = Extract<JournalRecord, { kind: 'commit' }>;
export type FileRecord = Extract<JournalRecord, { kind: 'file' }>;

const NAME = /^journal-(\d+)$/;

export function journalName(seq: number): string {
  return `journal-${String(seq).padStart(6, '0')}`;
}

/** The snapshot file journal number `seq` builds on. */
export function snapshotName(seq: number): string {
  return `snapshot-${String(seq).padStart(6, '0')}`;
}

/** Frames one record (framed-records.ts): length, CRC32, JSON payload. */
export function encodeRecord(record: JournalRecord): Buffer {
  return encodeFrame(Buffer.from(JSON.stringify(record)));
}

/** The records in `bytes` up to the first torn or damaged one; `torn` says whether something was dropped. */
export function decodeRecords(bytes: Buffer): { records: JournalRecord[]; torn: boolean } {
  const { payloads, torn } = decodeFrames(bytes);
  const records: JournalRecord[] = [];
  for (const payload of payloads) {
    const parsed = RecordSchema.safeParse(parseJson(payload));
    if (!parsed.success) return { records, torn: true };
    records.push(parsed.data);
  }
  return { records, torn };
}

function parseJson(payload: Buffer): unknown {
  try {
    return JSON.parse(payload.toString('utf8'));
  } catch (error) {
    return { unparsable: (error as Error).message }; // fails the schema: treated as torn
  }
}

/** What one journal file says: its checkpoint and the commits that stand (retried and aborted ones dropped). */
export interface JournalContents {
  path: string;
  checkpoint: CheckpointRecord;
  /** The checkpoint's file text (null: none, an empty config); undefined when it cannot be read or its hash is wrong (`baseProblem`). */
  baseBytes: Buffer | null | undefined;
  baseProblem?: string;
  commits: CommitRecord[];
  /** The revisions the config file was known to hold, and their hashes, oldest first (the checkpoint's included). */
  points: { revision: number; sha256: string }[];
  torn: boolean;
}

/** Reads a journal file; undefined when it has no readable checkpoint (an owner that died before writing one). */
export async function readJournal(fs: FsOps, file: string): Promise<JournalContents | undefined> {
  const { records, torn } = decodeRecords(await fs.readFile(file));
  const [first, ...rest] = records;
  if (first?.kind !== 'checkpoint') return undefined;
  const commits: CommitRecord[] = [];
  const points: { revision: number; sha256: string }[] = first.base === null ? [] : [{ revision: first.revision, sha256: first.base.sha256 }];
  for (const record of rest) {
    if (record.kind === 'checkpoint') continue;
    if (record.kind === 'file') {
      points.push({ revision: record.revision, sha256: record.sha256 });
      continue;
    }
    // A flush that failed gives its revision numbers to the next one: the later record stands.
    while (commits.length > 0 && commits.at(-1)!.first >= record.first) commits.pop();
    if (record.kind === 'commit') commits.push(record);
  }
  // Journals of earlier versions rewrote the file with each commit and recorded its hash there.
  for (const commit of commits) if (commit.sha256 !== undefined) points.push({ revision: commit.last, sha256: commit.sha256 });
  points.sort((a, b) => a.revision - b.revision);
  const base = await readBase(fs, path.dirname(file), first);
  return { path: file, checkpoint: first, commits, points, torn, ...base };
}

/** The checkpoint's text, checked against its hash. */
async function readBase(fs: FsOps, dir: string, checkpoint: CheckpointRecord): Promise<{ baseBytes: Buffer | null | undefined; baseProblem?: string }> {
  const base = checkpoint.base;
  if (base === null) return { baseBytes: null };
  let bytes: Buffer;
  if (base.snapshot !== undefined) {
    try {
      bytes = await fs.readFile(path.join(dir, base.snapshot));
    } catch (error) {
      return { baseBytes: undefined, baseProblem: `its snapshot ${path.join(dir, base.snapshot)} cannot be read (${(error as Error).message})` };
    }
  } else if (base.bytes !== undefined) {
    bytes = Buffer.from(base.bytes, 'base64');
  } else {
    return { baseBytes: undefined, baseProblem: 'its checkpoint names no text' };
  }
  if (sha256Of(bytes) !== base.sha256) return { baseBytes: undefined, baseProblem: 'its checkpoint text does not match its hash' };
  return { baseBytes: bytes };
}

function sha256Of(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The newest journal with a checkpoint among `dirs` (each an owner's generation directory, newest first). */
export async function newestJournal(fs: FsOps, dirs: readonly string[]): Promise<JournalContents | undefined> {
  for (const dir of dirs) {
    const names = (await fs.readdir(dir)).filter((name) => NAME.test(name)).sort().reverse();
    for (const name of names) {
      const contents = await readJournal(fs, path.join(dir, name));
      if (contents !== undefined) return contents;
    }
  }
  return undefined;
}

/** The journal file this owner appends to; the caller runs its appends one at a time. */
export class CommitJournal {
  /** Bytes appended so far: a failed append is cut back to this, giving its space back. */
  size = 0;
  /** Commit records appended since the checkpoint, as framed: the next journal carries those the file does not hold yet. */
  private tail: { last: number; frame: Buffer }[] = [];

  private constructor(
    private readonly fs: FsOps,
    readonly path: string,
    readonly seq: number,
    private readonly handle: FileHandle,
    /** The snapshot file the checkpoint names, if any (removed with the journal). */
    readonly snapshot: string | undefined,
  ) {}

  /**
   * Starts journal number `seq` in `dir` with `checkpoint` followed by `carried` (commit frames of the
   * journal it replaces that the checkpoint does not hold), durably.
   */
  static async start(fs: FsOps, dir: string, seq: number, checkpoint: CheckpointRecord, carried: readonly { last: number; frame: Buffer }[] = []): Promise<CommitJournal> {
    const file = path.join(dir, journalName(seq));
    const handle = await fs.openAppend(file);
    const snapshot = checkpoint.base?.snapshot === undefined ? undefined : path.join(dir, checkpoint.base.snapshot);
    const journal = new CommitJournal(fs, file, seq, handle, snapshot);
    try {
      await journal.write(Buffer.concat([encodeRecord(checkpoint), ...carried.map((entry) => entry.frame)]));
      journal.tail = [...carried];
      // The new file's name must survive a crash too.
      await syncDirectory(fs, dir);
    } catch (error) {
      await journal.close();
      // Without its checkpoint the file is of no use; gone, it cannot be mistaken for a journal either.
      await fs.unlink(file).catch((unlinkError: unknown) => {
        throw new AggregateError([error, unlinkError], `starting ${file} failed and it could not be removed`);
      });
      throw error;
    }
    return journal;
  }

  /**
   * Appends one record and makes it durable (with `sync: false`, durable with the next append that
   * syncs). After a failure the caller starts a new journal.
   */
  async append(record: JournalRecord, sync = true): Promise<void> {
    const frame = encodeRecord(record);
    await this.write(frame, sync);
    if (record.kind === 'commit') this.tail.push({ last: record.last, frame });
  }

  /** Makes every record appended so far durable. */
  sync(): Promise<void> {
    return this.fs.datasync(this.handle);
  }

  /** The commit frames for revisions after `revision`, oldest first (what a new journal on a checkpoint at `revision` carries). */
  commitsAfter(revision: number): { last: number; frame: Buffer }[] {
    this.tail = this.tail.filter((entry) => entry.last > revision);
    return this.tail;
  }

  private async write(frame: Buffer, sync = true): Promise<void> {
    try {
      await this.fs.append(this.handle, frame);
      if (sync) await this.fs.datasync(this.handle);
    } catch (error) {
      // Cut the record off: a full disk leaves part of it (its space is given back), a failed
      // datasync leaves one whose write was answered WRITE_FAILED, which a restart must not apply.
      await this.fs.truncate(this.handle, this.size).catch((truncateError: unknown) => {
        throw new AggregateError([error, truncateError], `appending to ${this.path} failed and the record could not be cut off`);
      });
      throw error;
    }
    this.size += frame.length;
  }

  close(): Promise<void> {
    return this.fs.close(this.handle);
  }
}

/**
 * The document after `commits`, applied in order to the document they were
 * made on (which is left as it was). The objects the replay copies are its
 * own and are changed in place after that: thousands of commits into one
 * object with thousands of keys copy it once, not once per commit.
 */
export function replayCommits(doc: JsonObject, commits: readonly CommitRecord[]): JsonObject {
  const owned = new OwnedCopies();
  let out = doc;
  for (const commit of commits) out = applyChanges(out, commit.changes, owned);
  return out;
}

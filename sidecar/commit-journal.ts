// The commit journal: one record per flush group (its revisions, their
// changes, the hash of the file they leave), appended to a file in the
// owner's generation directory and made durable before the group is
// acknowledged. Each journal file starts with a checkpoint holding the file
// it builds on (or none: an empty config), so the last acknowledged state can
// be rebuilt from the journal alone, whatever happened to the config file.
// Records are framed with their length and a CRC32: a torn tail (a crash
// mid-append) is detected and dropped. Why a journal and how it is fenced:
// docs/decisions.md ("The commit journal").
import path from 'node:path';
import { crc32 } from 'node:zlib';
import type { FileHandle } from 'node:fs/promises';
import { z } from 'zod';
import { deleteIn, setIn, type JsonObject } from './document.js';
import { syncDirectory, type FsOps } from './fs-ops.js';

const ChangeSchema = z.object({ segments: z.array(z.string()), value: z.unknown().optional(), deleted: z.literal(true).optional() });
const RecordSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('checkpoint'),
    revision: z.number().int(),
    /** The file's bytes the journal builds on (base64) and their hash, or null: an empty config, no file. */
    base: z.object({ bytes: z.string(), sha256: z.string() }).nullable(),
  }),
  z.object({
    kind: z.literal('commit'),
    first: z.number().int(),
    last: z.number().int(),
    changes: z.array(ChangeSchema),
    sha256: z.string(),
    /** The schema version the file declares after this commit (with a versioned schema in force). */
    version: z.number().int().optional(),
  }),
  /** The commit starting at `first` was answered WRITE_FAILED: it never happened. */
  z.object({ kind: z.literal('abort'), first: z.number().int() }),
]);
export type JournalRecord = z.infer<typeof RecordSchema>;
export type CheckpointRecord = Extract<JournalRecord, { kind: 'checkpoint' }>;
export type CommitRecord = Extract<JournalRecord, { kind: 'commit' }>;

const HEADER = 8;
const NAME = /^journal-(\d+)$/;

export function journalName(seq: number): string {
  return `journal-${String(seq).padStart(6, '0')}`;
}

/** Frames one record: u32 length, u32 CRC32 of the payload, JSON payload. */
export function encodeRecord(record: JournalRecord): Buffer {
  const payload = Buffer.from(JSON.stringify(record));
  const frame = Buffer.allocUnsafe(HEADER + payload.length);
  frame.writeUInt32LE(payload.length, 0);
  frame.writeUInt32LE(crc32(payload), 4);
  payload.copy(frame, HEADER);
  return frame;
}

/** The records in `bytes` up to the first torn or damaged one; `torn` says whether something was dropped. */
export function decodeRecords(bytes: Buffer): { records: JournalRecord[]; torn: boolean } {
  const records: JournalRecord[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    if (bytes.length - offset < HEADER) return { records, torn: true };
    const length = bytes.readUInt32LE(offset);
    const sum = bytes.readUInt32LE(offset + 4);
    const end = offset + HEADER + length;
    if (end > bytes.length) return { records, torn: true };
    const payload = bytes.subarray(offset + HEADER, end);
    if (crc32(payload) !== sum) return { records, torn: true };
    const parsed = RecordSchema.safeParse(parseJson(payload));
    if (!parsed.success) return { records, torn: true };
    records.push(parsed.data);
    offset = end;
  }
  return { records, torn: false };
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
  commits: CommitRecord[];
  torn: boolean;
}

/** Reads a journal file; undefined when it has no readable checkpoint (an owner that died before writing one). */
export async function readJournal(fs: FsOps, file: string): Promise<JournalContents | undefined> {
  const { records, torn } = decodeRecords(await fs.readFile(file));
  const [first, ...rest] = records;
  if (first?.kind !== 'checkpoint') return undefined;
  const commits: CommitRecord[] = [];
  for (const record of rest) {
    if (record.kind === 'checkpoint') continue;
    // A flush that failed gives its revision numbers to the next one: the later record stands.
    while (commits.length > 0 && commits.at(-1)!.first >= record.first) commits.pop();
    if (record.kind === 'commit') commits.push(record);
  }
  return { path: file, checkpoint: first, commits, torn };
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

/** The journal file this owner appends to. */
export class CommitJournal {
  /** Bytes appended so far: a failed append is cut back to this, giving its space back. */
  size = 0;

  private constructor(
    private readonly fs: FsOps,
    readonly path: string,
    readonly seq: number,
    private readonly handle: FileHandle,
  ) {}

  /** Starts journal number `seq` in `dir` with `checkpoint`, durably. */
  static async start(fs: FsOps, dir: string, seq: number, checkpoint: CheckpointRecord): Promise<CommitJournal> {
    const file = path.join(dir, journalName(seq));
    const handle = await fs.openAppend(file);
    const journal = new CommitJournal(fs, file, seq, handle);
    try {
      await journal.append(checkpoint);
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

  /** Appends one record and makes it durable. After a failure the caller starts a new journal. */
  async append(record: JournalRecord): Promise<void> {
    const frame = encodeRecord(record);
    try {
      await this.fs.append(this.handle, frame);
      await this.fs.datasync(this.handle);
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

/** The document after `commits`, applied in order to the document they were made on. */
export function replayCommits(doc: JsonObject, commits: readonly CommitRecord[]): JsonObject {
  let out = doc;
  for (const commit of commits) {
    for (const change of commit.changes) {
      out = change.deleted === true ? deleteIn(out, change.segments).root : setIn(out, change.segments, change.value);
    }
  }
  return out;
}

// The config file on disk and the commit journal behind it: reading the file
// at start (refusing what is not a JSON object, keeping a bad file aside
// instead of overwriting it, and rebuilding the last committed state from the
// journal or a backup when the file is gone, damaged or behind, merging an
// edit made while the sidecar was down), committing each flush group to the
// journal, replacing the file with each checkpoint the checkpoint writer
// renders, and re-reading it after a hand edit. Every temp file is made in
// this owner's generation directory, so nothing of a deposed owner's can land
// (generation-fence.ts).
import { close, closeSync, fstatSync, openSync, read, readFileSync, statSync, type BigIntStats } from 'node:fs';
import { promisify } from 'node:util';
import { copyFile } from 'node:fs/promises';
import path from 'node:path';
import { DEFAULT_LIMITS, FORBIDDEN_SEGMENTS, diffValues, formatPath, isPlainObject, parseExactJson } from '../../protocol/index.js';
import { applyWriteOps, type JsonObject } from '../store/document.js';
import { Backups } from './backups.js';
import { CommitJournal, newestJournal, replayCommits, snapshotName, type JournalContents } from './commit-journal.js';
import type { FlushGroup } from '../store/commit-queue.js';
import { DiskChanged, type CheckpointTarget } from './checkpoint-writer.js';
import type { Rendered } from './checkpoint-renderer.js';
import { mergeEdit } from './three-way-merge.js';
import { durableReplace, tempPrefix, WriteFailure } from '../disk/durable-write.js';
import type { FsOps } from '../disk/fs-ops.js';
import { FencedOff, type Generation } from '../ownership/generation-fence.js';
import { processAlive } from '../ownership/process-liveness.js';
import { documentText } from '../store/json-text.js';
import { splitMeta, withMeta, type FileMeta } from './file-envelope.js';
import type { Logger } from '../ops/logger.js';
import { boundQuarantine, DEFAULT_QUARANTINE, type QuarantineBounds } from './quarantine.js';
import { SidecarState, sha256, type SidecarStateRecord } from './sidecar-state.js';
import type { StoreState } from '../store/store-state.js';
import { WrittenVersions } from './written-versions.js';
import { fileHolds } from '../disk/file-holds.js';

/** A journal holding more records than this (and than 4 copies of the document) starts again from a checkpoint. */
const ROTATE_MIN_BYTES = 1 << 20;

/** Up to this size the check before a rename compares the bytes when the stat alone could be fooled. */
const SYNC_COMPARE_BYTES = 1024 * 1024;
/** The state at a revision the journal records the file holding. */
interface RecordedPoint {
  revision: number;
  doc: JsonObject;
  version: number | undefined;
}

/** Text rendered at most when looking for a rewrite whose record a crash cut off (unrecordedCheckpoint). */
const UNRECORDED_SEARCH_BYTES = 64 * 1024 * 1024;
/**
 * Up to this size the bytes are compared in the rename's own turn, read just
 * before the stat (tens of microseconds from the page cache): cheaper than
 * three trips through the thread pool, each of which waits behind the
 * journal's fdatasyncs under load.
 */
const IN_TURN_COMPARE_BYTES = 64 * 1024;

/**
 * File times come from a coarse clock (a few ms): a rewrite in place, of the
 * same size, within this long of the sidecar's write can leave size and mtime
 * as they were (git's "racily clean" files). Until the file is seen unchanged
 * after that, its bytes are compared too.
 */
const RACY_NS = 50_000_000n;

/** What the sidecar knows the file holds: the version it last wrote or took in. */
interface OnDisk {
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
  /** Undefined for a file too big to read (its stat alone is compared). */
  bytes: Buffer | undefined;
  /** Seen unchanged after the racy interval: the stat alone can be trusted. */
  verified: boolean;
}

/** The file a flush is about to replace, open from its check on. */
interface Pinned {
  fd: number;
  stat: BigIntStats;
}

const readAt = promisify(read);

function onDiskOf(stat: BigIntStats, bytes: Buffer | undefined): OnDisk {
  // A file too big to compare before each rename is told by its stat alone from the start.
  return { ino: stat.ino, size: stat.size, mtimeNs: stat.mtimeNs, bytes, verified: bytes === undefined || bytes.length > SYNC_COMPARE_BYTES };
}

/** Whether the file at `file` holds exactly `bytes` (read synchronously: only for small files); a missing file is left to the stat. */
function holdsBytes(file: string, bytes: Buffer): boolean {
  try {
    // A file of another size is not read (a large one would hold up the event loop).
    return statSync(file).size === bytes.length && readFileSync(file).equals(bytes);
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return true;
    throw error;
  }
}

function sameStat(known: OnDisk, stat: BigIntStats): boolean {
  return stat.ino === known.ino && stat.size === known.size && stat.mtimeNs === known.mtimeNs;
}

/** Start-up cannot go on; the message says why and what to do. */
export class StartupError extends Error {
  override readonly name = 'StartupError';
}

export interface LoadedConfig {
  doc: JsonObject;
  /** false when there was no file: nothing is written until the first set. */
  existed: boolean;
  /** The schema version the file declares (with a schema in force); undefined for an unversioned or new file. */
  fileVersion?: number;
  /** Epoch and revision of the previous clean stop, when the file is unchanged since. */
  resume?: { epoch: string; revision: number };
  /**
   * The highest revision an earlier run can have answered (its journal's last record; 0 when none
   * is known). A start that cannot resume numbers its revisions above it, so a modRevision read
   * before a crash never names a different write after it (a CAS from then fails CONFLICT).
   */
  revisionFloor: number;
  /** The file was unusable, gone or behind, and the served state was rebuilt: what happened, for health. */
  recovered?: { reason: string };
  /** The file is over maxDocumentBytes: it was not read; `doc` is the last committed state (or empty), to be served read-only. */
  oversized?: { size: number };
  /** An edit made while the sidecar was down conflicted with committed writes at these paths (their committed values were kept). */
  conflicts?: string[];
}

/** What reading the file (and rebuilding it when needed) found, before the journal's revisions are known. */
type FileFound = Omit<LoadedConfig, 'revisionFloor'>;

/** What a re-read found. */
export type Reread =
  | { kind: 'unchanged' } // the file holds what the sidecar wrote or last read
  | { kind: 'seen' } // the file holds a rejected text already dealt with
  | { kind: 'missing' }
  | { kind: 'oversized'; size: number; keptAt: string | undefined }
  | { kind: 'invalid'; problem: string; raw: Buffer; stat: BigIntStats }
  | { kind: 'valid'; doc: JsonObject; raw: Buffer };

export class ConfigFile implements CheckpointTarget {
  private mode = 0o600;
  readonly state: SidecarState;
  readonly backups: Backups;
  /** The bytes the file holds as far as the sidecar knows (written or read by it). */
  private diskBytes: Buffer | undefined;
  /** The bytes of a write in progress: once renamed they are on disk before the write returns. */
  private writingBytes: Buffer | undefined;
  /** The document diskBytes hold, when the sidecar read them or wrote them from it at start. */
  private diskDoc: JsonObject | undefined;
  /** While a re-read runs: everything the sidecar had on disk or wrote since it began (all its own). */
  private ownDuringReread: Buffer[] | undefined;
  /** The sidecar's own keys in the file, with a schema in force (file-envelope.ts). */
  meta: FileMeta | undefined;
  /** limits.maxDepth: a file nested deeper is refused like any invalid file. */
  maxDepth = DEFAULT_LIMITS.maxDepth;
  /** How much quarantine/ keeps (quarantine.ts). */
  quarantineBounds: QuarantineBounds = DEFAULT_QUARANTINE;
  /** The journal this owner appends to; started at the end of load(). */
  private journal: CommitJournal | undefined;
  private nextJournalSeq = 0;
  /** An append failed part-way: the next write starts a new journal first. */
  private journalBroken = false;
  /** Journal appends and rotations, one at a time in call order. */
  private journalLane: Promise<void> = Promise.resolve();
  /** The newest file text known durable (the last rewrite, or the start's): what the next journal's checkpoint is made of. */
  private checkpointBase: { revision: number; bytes: Buffer | undefined; sha256?: string } | undefined;
  /** The journal size past which it starts again from a checkpoint; default: 1 MiB or 4 copies of the document, whichever is more. */
  rotateBytes: number | undefined;
  /** Size of the journal files now, and the most they have taken (stats). */
  readonly journalUse = { bytes: 0, peakBytes: 0 };
  /** state.json could not be read at start (health names it). */
  stateProblem: string | undefined;
  /** What the file holds as far as the sidecar knows; undefined: no file. Checked before every flush's rename. */
  private onDisk: OnDisk | undefined;
  /** The versions the file held lately: the bases hand edits are merged against (a text the sidecar wrote is read back as the file is). */
  readonly versions = new WrittenVersions((text) => {
    const parsed = this.parse(text);
    return typeof parsed === 'string' ? undefined : parsed.doc;
  });
  /** limits.maxDocumentBytes: a bigger file is refused by its size, before it is read. */
  maxDocumentBytes = DEFAULT_LIMITS.maxDocumentBytes;
  /** The previous owner's journal as read at start: the last committed state, for the schema's read-only fallback. */
  previousJournal: JournalContents | undefined;

  constructor(
    readonly configPath: string,
    readonly stateDir: string,
    private readonly fs: FsOps,
    private readonly log: Logger,
    readonly generation: Generation,
  ) {
    this.state = new SidecarState(stateDir, fs, generation.dir);
    this.backups = new Backups(path.join(stateDir, 'backups'), fs, undefined, generation.dir);
  }

  get quarantineDir(): string {
    return path.join(this.stateDir, 'quarantine');
  }

  /** Checked before every rename into place and every commit (the ownership lease); set by the sidecar. */
  beforeRename: (() => void) | undefined;

  private replace(target: string, data: Uint8Array, mode: number): Promise<void> {
    return durableReplace(target, data, { fs: this.fs, mode, tempDir: this.generation.dir, ...(this.beforeRename === undefined ? {} : { beforeRename: this.beforeRename }) });
  }

  /**
   * Reads and checks the file and rebuilds the last committed state when the
   * file is unusable, missing or behind the journal (the sidecar then starts
   * this owner's journal on the state it serves: startJournal). Throws
   * StartupError when no state holding every acknowledged write can be found.
   */
  async load(): Promise<LoadedConfig> {
    const dir = path.dirname(this.configPath);
    await this.fs.mkdir(dir, 0o700);
    await this.removeStrayTemps(dir);
    const { record, problem: stateProblem } = await this.state.read();
    if (stateProblem !== undefined) {
      this.stateProblem = stateProblem;
      this.log.warn(stateProblem);
    }
    const journal = await newestJournal(this.fs, this.generation.fenced.map((gen) => gen.dir));
    this.previousJournal = journal;
    if (journal?.torn === true) this.log.warn({ journal: journal.path }, 'the commit journal ends in a torn record (a crash mid-append); it was dropped');
    return { ...(await this.loadFile(record, stateProblem, journal)), revisionFloor: journal === undefined ? 0 : lastJournalRevision(journal) };
  }

  private async loadFile(record: SidecarStateRecord | undefined, stateProblem: string | undefined, journal: JournalContents | undefined): Promise<FileFound> {
    let raw: Buffer;
    try {
      const stat = await this.fs.stat(this.configPath);
      if (!stat.isFile()) throw new StartupError(`${this.configPath} is not a regular file`);
      this.mode = stat.mode & 0o777;
      // Checked before it is read: a file far over the limit would hold the start up and take its size in memory many times over.
      if (stat.size > this.maxDocumentBytes) return await this.loadOversized(stat.size, journal);
      raw = await this.fs.readFile(this.configPath);
    } catch (error) {
      if ((error as { code?: string }).code === 'ENOENT') return this.loadMissing(record, stateProblem, journal);
      if (error instanceof StartupError) throw error;
      throw new StartupError(`cannot read ${this.configPath}: ${(error as Error).message}`);
    }
    const unchanged = record?.contentSha256 === sha256(raw) && record.epoch !== undefined && record.revision !== undefined;
    const resume = unchanged ? { epoch: record.epoch!, revision: record.revision! } : undefined;
    // The previous run's epoch is spent once anything may change: recorded again at the next clean stop.
    await this.state.markConfigExists();
    const checked = this.parse(raw);
    if (typeof checked === 'string') {
      const kept = await this.quarantine();
      const reason = `${this.configPath} was unusable (${checked}); it was moved to ${kept}`;
      const rebuilt = journal === undefined ? await this.recoverFromBackup(reason) : await this.rebuild(journal, reason);
      if (rebuilt !== undefined) return rebuilt;
      throw new StartupError(
        `${this.configPath} is not a valid config (${checked}); it was moved to ${kept} and left untouched there. ` +
          `Fix it and move it back, or remove it to start empty.`,
      );
    }
    const caughtUp = journal === undefined ? undefined : await this.catchUp(journal, raw, checked, record);
    if (caughtUp !== undefined) return caughtUp;
    this.diskBytes = raw;
    this.tookIn(checked.doc, raw, statSync(this.configPath, { bigint: true }));
    return { doc: checked.doc, existed: true, fileVersion: checked.version, ...(resume === undefined ? {} : { resume }) };
  }

  /**
   * A valid file and the journal: the file is a checkpoint that may trail the
   * journal. A file at a point the journal recorded (a crash before it was
   * rewritten) is brought up to the journal's last state; a file at no such
   * point was edited while the sidecar was down, and the edit is merged three
   * ways against the last point (as a live edit is). Undefined: the file is
   * served as it is (it holds the last state, or was edited after a clean
   * stop, when it held the last state: an older version put back on purpose
   * included).
   */
  private async catchUp(journal: JournalContents, raw: Buffer, checked: { doc: JsonObject; version: number | undefined }, record: SidecarStateRecord | undefined): Promise<FileFound | undefined> {
    const lastRevision = lastJournalRevision(journal);
    const lastPoint = journal.points.at(-1);
    const sha = sha256(raw);
    if (lastPoint?.revision === lastRevision && lastPoint.sha256 === sha) return undefined;
    const stoppedCleanly = lastPoint?.revision === lastRevision && record?.contentSha256 === lastPoint.sha256;
    if (stoppedCleanly) return undefined;
    if (journal.baseBytes === undefined) {
      throw new StartupError(
        `cannot bring ${this.configPath} up to its commit journal ${journal.path}: ${journal.baseProblem}. ` +
          `Put a good ${path.basename(this.configPath)} in place by hand (the backups are in ${this.backups.dir}), ` +
          `or move ${path.dirname(journal.path)} out of ${this.stateDir} to serve the file as it is.`,
      );
    }
    const base = this.journalBase(journal);
    const last = this.replayOnto(base.doc, journal.commits, journal);
    const version = journal.commits.at(-1)?.version ?? base.version;
    const recordedPoint = journal.points.findLast((candidate) => candidate.sha256 === sha);
    // Only when the file is at no recorded point: where an unrecorded rewrite or an edit started from.
    const recorded = recordedPoint === undefined ? this.lastRecorded(journal, base) : undefined;
    const point = recordedPoint ?? this.unrecordedCheckpoint(journal, recorded!, sha);
    let doc: JsonObject;
    let reason: string;
    let conflicts: string[] | undefined;
    if (point !== undefined) {
      doc = last;
      const behind = journal.commits.filter((commit) => commit.last > point.revision).length;
      reason = `${this.configPath} was behind the commit journal: ${behind} committed flush(es) re-applied from ${journal.path}`;
      this.log.warn({ config: this.configPath, journal: journal.path, flushes: behind }, 'the config file was behind the commit journal; re-applied');
    } else {
      // An edit made while down started from the last version the journal records the file holding.
      const { revision: from, doc: startedFrom } = recorded!;
      const merged = mergeEdit(startedFrom, last, checked.doc);
      doc = applyWriteOps(last, merged.ops);
      conflicts = merged.conflicts.map((conflict) => formatPath(conflict.path) || '(root)');
      // The edit's values that were not applied stay readable: its whole text is kept aside.
      const keptAt = conflicts.length === 0 ? undefined : await this.keepRejected(raw, 'edited-while-down');
      reason =
        `${this.configPath} was edited while the sidecar was down; the edit was merged with the ${journal.commits.filter((commit) => commit.last > from).length} ` +
        `flush(es) committed after the file was last written (${journal.path})` +
        (conflicts.length === 0 ? '' : `; at ${conflicts.join(', ')} the edit conflicted with committed writes, whose values were kept (the edit's text is kept in ${keptAt})`);
      this.log.warn({ config: this.configPath, journal: journal.path, conflicts }, 'the config file was edited while the sidecar was down; merged with the commit journal');
    }
    const bytes = this.renderAt(doc, version);
    await this.replaceConfig(bytes, doc, false);
    return { doc, existed: true, fileVersion: version, recovered: { reason }, ...(conflicts === undefined || conflicts.length === 0 ? {} : { conflicts }) };
  }

  /**
   * A rewrite renamed into place whose `file` record a crash cut off (the record is appended after
   * the rename): the file then holds the text of a flush after the last recorded point. Found by
   * rendering each such state, up to UNRECORDED_SEARCH_BYTES of text. Taken for an edit instead, it
   * would be merged from the older point, and a key a later flush removed (or set back to its value
   * at that point) would come back with the rewrite's value.
   */
  private unrecordedCheckpoint(journal: JournalContents, recorded: RecordedPoint, sha: string): { revision: number } | undefined {
    let { doc, version } = recorded;
    let rendered = 0;
    for (const commit of journal.commits.filter((candidate) => candidate.last > recorded.revision)) {
      doc = this.replayOnto(doc, [commit], journal);
      version = commit.version ?? version;
      const bytes = this.renderAt(doc, version);
      if (sha256(bytes) === sha) return { revision: commit.last };
      rendered += bytes.length;
      if (rendered > UNRECORDED_SEARCH_BYTES) return undefined;
    }
    return undefined;
  }

  /**
   * The last version the journal records the file holding, as a document: an edit made while the
   * sidecar was down started from it, and a rewrite whose record a crash cut off came after it.
   */
  private lastRecorded(journal: JournalContents, base: { doc: JsonObject; version: number | undefined }): RecordedPoint {
    // No version of the file recorded at all (it was made by hand while down): it started from nothing.
    const revision = journal.points.at(-1)?.revision ?? journal.checkpoint.revision;
    const commits = journal.commits.filter((commit) => commit.last <= revision);
    return { revision, doc: this.replayOnto(base.doc, commits, journal), version: commits.at(-1)?.version ?? base.version };
  }

  /** The document a journal's checkpoint holds (its base must be readable). */
  private journalBase(journal: JournalContents): { doc: JsonObject; version: number | undefined } {
    if (journal.baseBytes === null || journal.baseBytes === undefined) return { doc: {}, version: undefined };
    const checked = this.parse(journal.baseBytes);
    if (typeof checked === 'string') throw new StartupError(`the checkpoint of the commit journal ${journal.path} is unusable (${checked}); ${this.configPath} was left as it is`);
    return checked;
  }

  /** Not read: the journal's last committed state (or an empty one) is served read-only; the file is left untouched. */
  private async loadOversized(size: number, journal: JournalContents | undefined): Promise<FileFound> {
    this.onDisk = onDiskOf(statSync(this.configPath, { bigint: true }), undefined);
    let doc: JsonObject = {};
    let version: number | undefined;
    if (journal !== undefined) {
      const checked = journal.baseBytes === null ? undefined : journal.baseBytes === undefined ? journal.baseProblem! : this.parse(journal.baseBytes);
      if (typeof checked === 'string') throw new StartupError(`${this.configPath} is over maxDocumentBytes and the checkpoint of ${journal.path} is damaged (${checked})`);
      doc = this.replayOnto(checked?.doc ?? {}, journal.commits, journal);
      version = journal.commits.at(-1)?.version ?? checked?.version;
    }
    this.log.warn({ config: this.configPath, size, maxDocumentBytes: this.maxDocumentBytes }, 'the config file is over maxDocumentBytes: not read; serving the last committed state read-only');
    return { doc, existed: true, fileVersion: version, oversized: { size } };
  }

  private async loadMissing(record: SidecarStateRecord | undefined, stateProblem: string | undefined, journal: JournalContents | undefined): Promise<FileFound> {
    if (journal !== undefined) {
      // Nothing was ever committed (a crash during the very first write): a first start.
      if (journal.baseBytes === null && journal.commits.length === 0) return { doc: {}, existed: false };
      return this.rebuild(journal, `${this.configPath} was missing`);
    }
    // No journal (a state directory from before journals): state.json and the backups are all there is.
    const backups = await this.backups.list();
    const existedBefore = record?.configExisted === true || (stateProblem !== undefined && backups.length > 0);
    if (!existedBefore) return { doc: {}, existed: false };
    const reason = stateProblem === undefined ? `${this.configPath} was missing` : `${this.configPath} was missing and ${stateProblem}`;
    const recovered = await this.recoverFromBackup(reason);
    if (recovered !== undefined) return recovered;
    throw new StartupError(
      `${this.configPath} is missing but existed before, and no backup is left in ${this.backups.dir}; refusing to start empty. ` +
        `Put the file back, or remove ${this.state.path} to start empty on purpose.`,
    );
  }

  /** The journal's base with its commits applied, written in place of the file. */
  private async rebuild(journal: JournalContents, reason: string): Promise<FileFound> {
    let doc: JsonObject = {};
    let baseVersion: number | undefined;
    if (journal.baseBytes !== null) {
      const checked = journal.baseBytes === undefined ? journal.baseProblem! : this.parse(journal.baseBytes);
      if (typeof checked === 'string') {
        throw new StartupError(
          `cannot rebuild ${this.configPath}: the checkpoint of the commit journal ${journal.path} is damaged (${checked}). ` +
            `Put a good ${path.basename(this.configPath)} in place by hand (the backups are in ${this.backups.dir}), ` +
            `or move ${path.dirname(journal.path)} out of ${this.stateDir} to serve the newest backup instead.`,
        );
      }
      doc = checked.doc;
      baseVersion = checked.version;
    } else if (journal.commits.length === 0) {
      this.log.warn({ config: this.configPath, reason }, 'nothing was ever committed: starting empty');
      return { doc: {}, existed: false, recovered: { reason: `${reason}; nothing had been committed, so it starts empty` } };
    }
    doc = this.replayOnto(doc, journal.commits, journal);
    // Written with the schema version the state had, so a migration still pending runs after this.
    const version = journal.commits.at(-1)?.version ?? baseVersion;
    const bytes = this.renderAt(doc, version);
    await this.state.markConfigExists();
    await this.replaceConfig(bytes, doc, false);
    this.log.warn({ config: this.configPath, reason, journal: journal.path, flushes: journal.commits.length }, 'rebuilt the config from the commit journal');
    return {
      doc,
      existed: true,
      fileVersion: version,
      recovered: { reason: `${reason}; rebuilt from the commit journal ${journal.path} (its checkpoint and ${journal.commits.length} committed flush(es))` },
    };
  }

  private replayOnto(doc: JsonObject, commits: JournalContents['commits'], journal: JournalContents): JsonObject {
    try {
      return replayCommits(doc, commits);
    } catch (error) {
      throw new StartupError(`the commit journal ${journal.path} does not apply to the state it builds on (${(error as Error).message}); ${this.configPath} was left as it is`);
    }
  }

  /** Puts the newest valid backup in place of an unusable or missing file (no journal to rebuild from); undefined if there is none. */
  private async recoverFromBackup(reason: string): Promise<FileFound | undefined> {
    for (const backup of await this.backups.list()) {
      const bytes = await this.fs.readFile(backup.path);
      const checked = this.parse(bytes);
      if (typeof checked === 'string') {
        this.log.warn({ backup: backup.path, problem: checked }, 'skipping an unusable backup');
        continue;
      }
      await this.state.markConfigExists();
      await this.replaceConfig(bytes, checked.doc, false);
      this.log.warn({ backup: backup.path, reason }, 'the config file was unusable; serving the newest good backup');
      return { doc: checked.doc, existed: true, fileVersion: checked.version, recovered: { reason: `${reason}; recovered from backup ${backup.path}` } };
    }
    return undefined;
  }

  /**
   * This owner's first journal, on the state it serves at `revision` (`doc`,
   * or none for a config that does not exist yet): its checkpoint is that
   * state's text. Called once the state to serve is decided (a file that does
   * not match the schema is not it: schema-start.ts).
   */
  async startJournal(doc: JsonObject | undefined, revision: number): Promise<void> {
    // The file as read, when it is what is served: its own bytes (no rendering), else the served state's text.
    const served = doc === undefined ? undefined : this.diskBytes !== undefined && this.servesDisk(doc) ? this.diskBytes : this.render(doc);
    // With a schema, the file becomes a backup once it is known to match (schema-start.ts).
    if (served !== undefined && served === this.diskBytes && this.meta === undefined) await this.keepBackup(served, true);
    this.checkpointBase = { revision, bytes: served };
    try {
      await this.inJournal(() => this.rotate());
    } catch (error) {
      throw new StartupError(`cannot start the commit journal in ${this.generation.dir}: ${(error as Error).message}; nothing was changed`);
    }
    for (const removed of await this.generation.pruneDead()) this.log.info({ dir: removed }, 'removed the generation directory of an owner that is gone');
  }

  /** `doc` is the document of diskBytes (compared by identity: the same object). */
  private servesDisk(doc: JsonObject): boolean {
    return this.diskDoc === doc;
  }

  /** Runs `task` after every journal operation asked for before it. */
  private inJournal<T>(task: () => Promise<T>): Promise<T> {
    const run = this.journalLane.then(task);
    this.journalLane = run.then(
      () => undefined,
      () => undefined, // the failure goes to the caller through `run`
    );
    return run;
  }

  /**
   * Starts the next journal file (inside the journal lane): its checkpoint is
   * checkpointBase, in a snapshot file beside it, followed by the commits
   * after it and a record of what the config file holds. The previous journal
   * and its snapshot are removed once the new one is durable.
   */
  private async rotate(): Promise<void> {
    const base = this.checkpointBase!;
    const seq = this.nextJournalSeq++;
    const previous = this.journal;
    let snapshot: { snapshot: string; sha256: string } | null = null;
    if (base.bytes !== undefined) {
      snapshot = { snapshot: snapshotName(seq), sha256: base.sha256 ?? sha256(base.bytes) };
      await this.replace(path.join(this.generation.dir, snapshot.snapshot), base.bytes, 0o600);
    }
    const carried = previous?.commitsAfter(base.revision) ?? [];
    let next: CommitJournal;
    try {
      next = await CommitJournal.start(this.fs, this.generation.dir, seq, { kind: 'checkpoint', revision: base.revision, base: snapshot }, carried);
    } catch (error) {
      // The journal in use (if any) stays in use; the snapshot made for the new one is of no use.
      if (snapshot !== null) {
        const orphan = path.join(this.generation.dir, snapshot.snapshot);
        await this.fs.unlink(orphan).catch((unlinkError: unknown) => this.log.warn({ err: unlinkError, file: orphan }, 'could not remove the snapshot of a journal that failed to start'));
      }
      throw error;
    }
    this.journal = next;
    this.journalBroken = false;
    if (previous !== undefined) {
      await previous.close().catch((error: unknown) => this.log.warn({ err: error, journal: previous.path }, 'could not close the previous commit journal'));
      for (const file of [previous.path, previous.snapshot]) {
        if (file === undefined) continue;
        await this.fs.unlink(file).catch((error: unknown) => this.log.warn({ err: error, file }, 'could not remove the previous commit journal'));
      }
    }
    this.noteJournalSize();
  }

  private noteJournalSize(): void {
    this.journalUse.bytes = (this.journal?.size ?? 0) + (this.checkpointBase?.bytes?.length ?? 0);
    this.journalUse.peakBytes = Math.max(this.journalUse.peakBytes, this.journalUse.bytes);
  }

  /** Closes the journal (at a stop, or a start that failed after opening it). */
  async close(): Promise<void> {
    await this.inJournal(async () => {
      const journal = this.journal;
      this.journal = undefined;
      this.journalBroken = true;
      await journal?.close();
    });
  }

  /** Makes sure the file as read at start is among the backups; rejects if it cannot be kept (a migration must not run then). */
  async backupLoaded(): Promise<void> {
    if (this.diskBytes !== undefined) await this.backups.maybeKeep(this.diskBytes, true);
  }

  /** A backup failing never fails the write it follows (that write is durable): it is logged. */
  private async keepBackup(bytes: Buffer, force = false): Promise<void> {
    try {
      await this.backups.maybeKeep(bytes, force);
    } catch (error) {
      this.log.warn({ err: error }, 'could not keep a backup of the config');
    }
  }

  /**
   * Commits `group` (the step from `previous` to `next`): its record is
   * appended to the journal and made durable, and this owner is checked to be
   * still in place; then it may be acknowledged. The config file is rewritten
   * afterwards, in the background (checkpoint-writer.ts). Rejects with a
   * WriteFailure when nothing was committed, with OutcomeUnknown when this
   * owner was fenced off (its record may or may not be read by the new one).
   */
  async write(_next: StoreState, _previous: StoreState, group: FlushGroup): Promise<void> {
    await this.inJournal(async () => {
      try {
        this.beforeRename?.();
        if (this.journal === undefined || this.journalBroken) await this.rotate();
      } catch (error) {
        throw await this.notCommitted(error);
      }
      try {
        await this.journal!.append({
          kind: 'commit',
          first: group.first,
          last: group.last,
          changes: group.changes,
          ...(this.meta?.schemaVersion === undefined ? {} : { version: this.meta.schemaVersion }),
        });
      } catch (error) {
        // Nothing more is appended to a journal whose append failed: a new one, at a higher number,
        // supersedes it at once if it can (else the next write tries again).
        this.journalBroken = true;
        await this.rotate().catch((rotateError: unknown) => this.log.warn({ err: rotateError }, 'could not start a new commit journal; the next write tries again'));
        throw await this.notCommitted(error);
      }
      this.noteJournalSize();
    });
    // Checked after the record is durable: if still in place now, a new owner fences us later and reads it.
    await this.generation.assertInPlace();
  }

  /** Why a commit failed, for its writes: fenced off (OutcomeUnknown) when this generation is gone, else a journal failure. */
  private async notCommitted(error: unknown): Promise<unknown> {
    // A generation whose place cannot even be checked is treated as fenced off: nothing more is written.
    if (!(await this.generation.inPlace().catch(() => false))) return new FencedOff(`${this.generation.dir} was fenced off: another sidecar took over the config file`);
    return error instanceof WriteFailure ? error : new WriteFailure('journal', error, false);
  }

  /**
   * Puts a checkpoint in place of the config file (CheckpointTarget): the
   * file is replaced, if it does not hold this text already, with the check
   * for a hand edit made since the sidecar last wrote or read it; then a
   * `file` record naming its revision and hash is appended to the journal
   * (durable with the next commit; a crash before it leaves a file at no
   * recorded point, which the next start recognises by its text:
   * unrecordedCheckpoint). A journal grown past a few copies of the document
   * starts again from this text.
   */
  async rewrite(rendered: Rendered, byClients: boolean): Promise<void> {
    try {
      // A hand edit already in canonical form is on disk as it would be written: don't touch the author's file.
      // (Compared only up to the size compared before a rename: a large file is replaced whatever it holds.)
      if (this.diskBytes !== undefined && rendered.bytes.length <= SYNC_COMPARE_BYTES && rendered.bytes.equals(this.diskBytes) && this.holdsDiskBytes()) {
        this.versions.add(rendered.doc ?? rendered.bytes, rendered.bytes.length, byClients);
      } else await this.replaceFile(rendered.bytes, rendered.doc ?? rendered.bytes, byClients);
      await this.inJournal(async () => {
        if (this.journal === undefined || this.journalBroken) await this.rotate();
        await this.journal!.append({ kind: 'file', revision: rendered.revision, sha256: rendered.sha256 }, false);
      });
    } catch (error) {
      if (error instanceof DiskChanged || (error instanceof WriteFailure && error.cause instanceof DiskChanged)) throw error instanceof DiskChanged ? error : error.cause;
      const failure = await this.notCommitted(error);
      throw failure;
    }
    this.checkpointBase = { revision: rendered.revision, bytes: rendered.bytes, sha256: rendered.sha256 };
    await this.keepBackup(rendered.bytes);
    // Records worth a few copies of the document: start again from this checkpoint (amortised, a set's cost stays flat).
    if ((this.journal?.size ?? 0) > (this.rotateBytes ?? Math.max(ROTATE_MIN_BYTES, 4 * rendered.bytes.length))) {
      await this.inJournal(() => this.rotate()).catch((error: unknown) => this.log.warn({ err: error }, 'could not start a new commit journal; the next rewrite tries again'));
    }
  }

  /** The file is known to hold diskBytes durably (no edit seen since that has not been taken in). */
  private holdsDiskBytes(): boolean {
    return this.onDisk?.bytes !== undefined && this.onDisk.bytes === this.diskBytes && !this.renamedNotDurable;
  }

  /** The last rewrite was renamed into place but its directory fsync failed. */
  private renamedNotDurable = false;

  private async replaceFile(data: Buffer, version: JsonObject | Buffer, byClients: boolean): Promise<void> {
    // Marked first: if the marker can't be written, the config isn't either.
    await this.state.markConfigExists();
    this.writingBytes = data;
    this.ownDuringReread?.push(data);
    try {
      await this.replaceConfig(data, version, true, byClients);
    } finally {
      // Renamed (diskBytes holds it now) or not: no write of ours is in flight any more.
      this.writingBytes = undefined;
    }
  }

  /**
   * Durably replaces the config file with `data` (the text of `doc`) and
   * records what it then holds. With `check`, the rename happens only if the
   * file still holds what the sidecar last wrote or took in (else DiskChanged,
   * as the cause of a WriteFailure at 'rename'): checked synchronously right
   * before the rename, so the window left (docs/decisions.md, "Hand edits are
   * never overwritten") is as short as it can be without an atomic exchange.
   */
  private async replaceConfig(data: Buffer, version: JsonObject | Buffer, check: boolean, byClients = true): Promise<void> {
    let written: BigIntStats | undefined;
    let pinned: Pinned | undefined;
    const recordRename = () => {
      if (written === undefined) return;
      this.diskBytes = data;
      this.diskDoc = Buffer.isBuffer(version) ? undefined : version;
      this.onDisk = onDiskOf(written, data);
      this.versions.add(version, data.length, byClients);
    };
    try {
      await durableReplace(this.configPath, data, {
        fs: this.fs,
        mode: this.mode,
        tempDir: this.generation.dir,
        onSynced: (stat) => {
          written = stat;
        },
        ...(check ? { beforeRenameAsync: () => this.assertSameBytes() } : {}),
        beforeRename: () => {
          this.beforeRename?.();
          if (!check) return;
          pinned = this.assertUnchanged();
          // No file (a fresh config, or removed): put in place only if none is made meanwhile.
          if (pinned === undefined) return 'absent';
        },
      });
    } catch (error) {
      if (check && error instanceof WriteFailure && error.step === 'rename' && !error.renamed && error.osCode === 'EEXIST') {
        throw new WriteFailure('rename', new DiskChanged(`${this.configPath} was created just before the sidecar wrote it`), false);
      }
      if (error instanceof WriteFailure && error.renamed) {
        recordRename();
        // In place but not durable (the directory fsync failed): the next rewrite writes it again.
        this.renamedNotDurable = true;
      }
      if (pinned !== undefined) this.afterReplace(pinned, error instanceof WriteFailure && error.renamed);
      throw error;
    }
    recordRename();
    this.renamedNotDurable = false;
    if (pinned !== undefined) this.afterReplace(pinned, true);
  }

  /**
   * The file replaced was open here from the check on: if it changed after
   * the check, an editor rewrote it in place in the window before the rename
   * and its text is still readable through the descriptor (onOrphanedEdit
   * takes it in). Otherwise the descriptor is closed.
   */
  private afterReplace(pinned: Pinned, renamed: boolean): void {
    if (renamed && this.onOrphanedEdit !== undefined && !sameStat(onDiskOf(pinned.stat, undefined), fstatSync(pinned.fd, { bigint: true }))) {
      this.log.warn({ path: this.configPath }, 'a hand edit rewrote the file in place just before a flush replaced it: taking it in from the replaced file');
      this.onOrphanedEdit(pinned.fd);
      return;
    }
    // Closed in the thread pool: the last close of a replaced file frees its blocks, which can take a while.
    close(pinned.fd, (error) => {
      if (error !== null) this.log.warn({ err: error, path: this.configPath }, 'could not close the replaced config file');
    });
  }

  /** Given the descriptor of a replaced file an editor wrote into; must close it (hand-edits.ts). */
  onOrphanedEdit: ((fd: number) => void) | undefined;

  /** The whole content of an open file (from its start). */
  async readDescriptor(fd: number): Promise<Buffer> {
    const size = Number(fstatSync(fd).size);
    if (size > this.maxDocumentBytes) throw new Error(`the replaced file is ${size} bytes, above maxDocumentBytes`);
    const buffer = Buffer.alloc(size);
    let offset = 0;
    while (offset < size) {
      const { bytesRead } = await readAt(fd, buffer, offset, size - offset, offset);
      if (bytesRead === 0) break;
      offset += bytesRead;
    }
    return buffer.subarray(0, offset);
  }

  /** A text read from elsewhere (a replaced file) judged as the file would be: its document, or why it is unusable. */
  judge(raw: Buffer): JsonObject | string {
    const checked = this.parse(raw);
    return typeof checked === 'string' ? checked : checked.doc;
  }

  /**
   * While the stat alone could be fooled, throws DiskChanged unless the file
   * holds the bytes the sidecar last wrote or took in: read in the thread
   * pool right before the rename's synchronous check (assertUnchanged).
   */
  private async assertSameBytes(): Promise<void> {
    const known = this.onDisk;
    if (known === undefined || known.verified || known.bytes === undefined || known.bytes.length <= IN_TURN_COMPARE_BYTES) return;
    let now: Buffer;
    try {
      now = await this.fs.readFile(this.configPath);
    } catch (error) {
      if ((error as { code?: string }).code === 'ENOENT') return;
      throw error;
    }
    if (!now.equals(known.bytes)) throw new DiskChanged(`${this.configPath} was rewritten in place`);
  }

  /**
   * Throws DiskChanged unless the file holds what the sidecar last wrote or
   * took in (a removed file is written back): its stat, compared right
   * before the rename, in the same turn.
   */
  private assertUnchanged(): Pinned | undefined {
    const known = this.onDisk;
    const racy = known !== undefined && !known.verified;
    // The bytes first, read by path just before the open: the read stays out of the window between the
    // stat and the rename (an edit written in place after it is caught through the open descriptor, below).
    if (racy && known.bytes !== undefined && known.bytes.length <= IN_TURN_COMPARE_BYTES && !holdsBytes(this.configPath, known.bytes)) {
      throw new DiskChanged(`${this.configPath} was rewritten in place`);
    }
    // Opened, not only stat'ed: an editor that rewrites it in place after this writes into this file, kept readable here.
    let fd: number;
    try {
      fd = openSync(this.configPath, 'r');
    } catch (error) {
      if ((error as { code?: string }).code === 'ENOENT') return undefined;
      throw error;
    }
    const stat = fstatSync(fd, { bigint: true });
    if (known === undefined || !sameStat(known, stat)) {
      closeSync(fd);
      throw new DiskChanged(`${this.configPath} was changed on disk`);
    }
    if (racy && BigInt(Date.now()) * 1_000_000n - stat.mtimeNs > RACY_NS) known.verified = true;
    return { fd, stat };
  }

  /** The file holds `doc` (read from `raw`, whose stat is `stat`): what later changes are told from. */
  private tookIn(doc: JsonObject, raw: Buffer, stat: BigIntStats): void {
    this.onDisk = onDiskOf(stat, raw);
    this.diskDoc = doc;
    this.versions.add(doc, raw.length);
  }

  /**
   * Reads the file again after a change on disk. The sidecar's own writes are
   * recognised by content and reported unchanged (our own write must not
   * reload itself). A file over maxDocumentBytes is refused by its size,
   * before it is read.
   */
  async reread(): Promise<Reread> {
    // Writes may complete while the file is being read: the bytes read can be any of them.
    const own: Buffer[] = [];
    for (const bytes of [this.diskBytes, this.writingBytes]) if (bytes !== undefined) own.push(bytes);
    this.ownDuringReread = own;
    let raw: Buffer;
    let stat: BigIntStats;
    try {
      // Stat and bytes from one open file: they describe the same version.
      const handle = await this.fs.open(this.configPath, 'r');
      try {
        stat = await handle.stat({ bigint: true });
        if (this.onDisk?.verified === true && sameStat(this.onDisk, stat)) return { kind: 'unchanged' };
        if (stat.size > BigInt(this.maxDocumentBytes)) return await this.refuseOversized(stat);
        // The sidecar's own text or what it last saw, compared chunk by chunk: the same object then, no second copy.
        let known: Buffer | undefined;
        // Each text once: what the file was last seen holding is usually the sidecar's own last write.
        for (const bytes of new Set([...own, this.onDisk?.bytes])) {
          if (bytes !== undefined && BigInt(bytes.length) === stat.size && (await fileHolds(handle, bytes))) {
            known = bytes;
            break;
          }
        }
        raw = known ?? (await handle.readFile());
      } finally {
        await handle.close();
      }
    } catch (error) {
      if ((error as { code?: string }).code === 'ENOENT') return { kind: 'missing' };
      throw error;
    } finally {
      this.ownDuringReread = undefined;
    }
    // Lengths first: comparing contents is only needed when they match (`raw` is one of them when the file held it).
    const same = (bytes: Buffer | undefined) => bytes !== undefined && (bytes === raw || (bytes.length === raw.length && bytes.equals(raw)));
    if (own.some(same)) {
      // Not while a write is in flight: its rename may land after this read.
      if (this.writingBytes === undefined && same(this.diskBytes)) this.onDisk = onDiskOf(stat, raw);
      return { kind: 'unchanged' };
    }
    if (this.onDisk !== undefined && same(this.onDisk.bytes)) {
      this.onDisk = { ...onDiskOf(stat, raw), verified: this.onDisk.verified };
      return { kind: 'seen' };
    }
    const checked = this.parse(raw);
    // Not known as the file's content until judged (markRejected): it may be an editor's save half done.
    if (typeof checked === 'string') return { kind: 'invalid', problem: checked, raw, stat };
    this.onDisk = onDiskOf(stat, raw);
    // Not a version to merge against yet: the merge of this edit is (it is written once merged).
    this.beforeEdit = this.diskBytes;
    this.diskBytes = raw;
    return { kind: 'valid', doc: checked.doc, raw };
  }

  /** The file existed at some point while this sidecar ran (false for a fresh config before its first write). */
  get hadFile(): boolean {
    return this.onDisk !== undefined;
  }

  /** What the sidecar knew the file held before the last valid edit was read (for refuseEdit). */
  private beforeEdit: Buffer | undefined;

  /**
   * A valid edit was refused (the schema): its text is not the served one, so a
   * later re-read of it is not "the sidecar's own" (which would clear health).
   */
  refuseEdit(raw: Buffer): void {
    if (this.diskBytes?.equals(raw) === true) this.diskBytes = this.beforeEdit;
  }

  /** An invalid text, settled and quarantined, is what the file holds: a flush may now replace it. */
  markRejected(found: Extract<Reread, { kind: 'invalid' }>): void {
    this.onDisk = onDiskOf(found.stat, found.raw);
  }

  /** True when `raw` is what the sidecar last wrote or read from the file. */
  holds(raw: Buffer): boolean {
    return this.onDisk?.bytes?.equals(raw) === true;
  }

  /** A file over maxDocumentBytes: copied aside into quarantine/ (in the thread pool, never read into memory) and not applied. */
  private async refuseOversized(stat: BigIntStats): Promise<Reread> {
    const size = Number(stat.size);
    if (this.onDisk !== undefined && this.onDisk.bytes === undefined && sameStat(this.onDisk, stat)) return { kind: 'seen' };
    this.onDisk = onDiskOf(stat, undefined);
    let keptAt: string | undefined;
    if (size <= this.quarantineBounds.maxBytes) {
      await this.fs.mkdir(this.quarantineDir, 0o700);
      keptAt = this.quarantineName('too-big');
      await copyFile(this.configPath, keptAt);
      await boundQuarantine(this.quarantineDir, this.fs, this.quarantineBounds, this.log, keptAt);
    }
    return { kind: 'oversized', size, keptAt };
  }

  /** At a clean stop, once the file holds the last committed state: record epoch and revision with the hash of the file they describe. */
  async recordCleanStop(epoch: string, revision: number): Promise<void> {
    if (this.diskBytes === undefined) return;
    // The last `file` record is appended without a sync of its own: the next start must see it.
    await this.inJournal(async () => this.journal?.sync());
    await this.state.write({ configExisted: true, epoch, revision, contentSha256: sha256(this.diskBytes) });
  }

  /** The bytes the file should hold for `doc`. */
  render(doc: JsonObject): Buffer {
    return this.renderAt(doc, this.meta?.schemaVersion);
  }

  /** The bytes for `doc` declaring schema `version` (with a schema in force). */
  private renderAt(doc: JsonObject, version: number | undefined): Buffer {
    const text = documentText(doc).text;
    if (this.meta === undefined) return Buffer.from(text);
    const { schemaVersion: _current, ...meta } = this.meta;
    return Buffer.from(withMeta(text, version === undefined ? meta : { ...meta, schemaVersion: version }));
  }

  /** The document in `raw` (without the sidecar's own keys) and the version it declares, or why it is unusable. */
  private parse(raw: Buffer): { doc: JsonObject; version: number | undefined } | string {
    const checked = checkText(raw, this.maxDepth);
    if (typeof checked === 'string' || this.meta === undefined) return typeof checked === 'string' ? checked : { doc: checked.doc, version: undefined };
    const split = splitMeta(checked.doc);
    return split.problem ?? { doc: split.doc, version: split.version };
  }

  private quarantineName(suffix: string): string {
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    return path.join(this.quarantineDir, `${path.basename(this.configPath)}.${stamp}.${suffix}`);
  }

  private async quarantine(): Promise<string> {
    await this.fs.mkdir(this.quarantineDir, 0o700);
    const target = this.quarantineName('invalid');
    await this.fs.rename(this.configPath, target);
    await boundQuarantine(this.quarantineDir, this.fs, this.quarantineBounds, this.log, target);
    return target;
  }

  /** Keeps a copy of rejected text in quarantine/; the file itself is left for its author to fix. */
  async keepRejected(raw: Buffer, suffix = 'rejected'): Promise<string> {
    await this.fs.mkdir(this.quarantineDir, 0o700);
    const target = this.quarantineName(suffix);
    await this.replace(target, raw, 0o600);
    await boundQuarantine(this.quarantineDir, this.fs, this.quarantineBounds, this.log, target);
    return target;
  }

  /** Temp files beside the config (made there by versions before generation directories) whose writer is gone. */
  private async removeStrayTemps(dir: string): Promise<void> {
    const prefix = tempPrefix(this.configPath);
    for (const name of await this.fs.readdir(dir)) {
      if (!name.startsWith(prefix)) continue;
      const pid = Number(/^(\d+)-/.exec(name.slice(prefix.length))?.[1]);
      if (Number.isSafeInteger(pid) && (await processAlive(pid))) continue; // its writer may still rename it: not ours to remove
      await this.fs.unlink(path.join(dir, name));
      this.log.warn({ file: name }, 'removed a temp file left by an interrupted write');
    }
  }
}

/** The parsed document, or why the text is not a usable config (exact-json.ts: never a changed reading). */
export function checkText(raw: Buffer, maxDepth = DEFAULT_LIMITS.maxDepth): { doc: JsonObject } | string {
  if (raw.length === 0) return 'the file is empty';
  // A document nests at most maxDepth - 1 levels: a get of the root must fit in a response envelope.
  const read = parseExactJson(raw, maxDepth - 1);
  if (!read.ok) return read.problem;
  const parsed = read.value;
  if (!isPlainObject(parsed)) return 'the top level is not a JSON object';
  const forbidden = findForbiddenKey(parsed, []);
  if (forbidden !== undefined) return `forbidden key "${forbidden.at(-1)}" at ${forbidden.join('.')}`;
  return { doc: parsed };
}

function findForbiddenKey(value: unknown, at: string[]): string[] | undefined {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findForbiddenKey(value[i], [...at, String(i)]);
      if (found) return found;
    }
  } else if (isPlainObject(value)) {
    for (const key of Object.keys(value)) {
      if (FORBIDDEN_SEGMENTS.has(key)) return [...at, key];
      const found = findForbiddenKey(value[key], [...at, key]);
      if (found) return found;
    }
  }
  return undefined;
}

/** The revision the served state starts at: the clean stop's, else one above anything answered before. */
export function firstRevisionOf(loaded: LoadedConfig): number {
  return loaded.resume?.revision ?? loaded.revisionFloor + 1;
}

/** The last revision a journal records (its checkpoint's when it holds no commit). */
function lastJournalRevision(journal: JournalContents): number {
  return journal.commits.reduce((highest, commit) => Math.max(highest, commit.last), journal.checkpoint.revision);
}

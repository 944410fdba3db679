// The config file on disk: reading it at start (refusing what is not a JSON
// object, keeping a bad file aside instead of overwriting it), writing each
// new committed version durably, and re-reading it after a hand edit.
// Stray temp files from a crash mid-write are removed at start.
import path from 'node:path';
import { DEFAULT_LIMITS, FORBIDDEN_SEGMENTS, isPlainObject, parseExactJson } from '../protocol/index.js';
import type { JsonObject } from './document.js';
import { Backups } from './backups.js';
import { durableReplace, tempPrefix, WriteFailure } from './durable-write.js';
import type { FsOps } from './fs-ops.js';
import { documentText } from './json-text.js';
import { splitMeta, withMeta, type FileMeta } from './file-envelope.js';
import type { Logger } from './logger.js';
import { boundQuarantine, DEFAULT_QUARANTINE, type QuarantineBounds } from './quarantine.js';
import { SidecarState, sha256 } from './sidecar-state.js';
import type { StoreState } from './store-state.js';

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
  /** The file was unusable (or gone) and this backup was put in its place. */
  recovered?: { backup: string; quarantined: string | undefined; reason: string };
}

/** What a re-read found. */
export type Reread =
  | { kind: 'unchanged' } // the file holds what the sidecar wrote or last read
  | { kind: 'missing' }
  | { kind: 'invalid'; problem: string; raw: Buffer }
  | { kind: 'valid'; doc: JsonObject; raw: Buffer };

export class ConfigFile {
  private mode = 0o600;
  readonly state: SidecarState;
  readonly backups: Backups;
  /** The bytes the file holds as far as the sidecar knows (written or read by it). */
  private diskBytes: Buffer | undefined;
  /** The bytes of a write in progress: once renamed they are on disk before the write returns. */
  private writingBytes: Buffer | undefined;
  /** While a re-read runs: everything the sidecar had on disk or wrote since it began (all its own). */
  private ownDuringReread: Buffer[] | undefined;
  /** False after a failed write that could not be undone: the file holds content memory does not. */
  memoryEqualsDisk = true;
  /** The sidecar's own keys in the file, with a schema in force (file-envelope.ts). */
  meta: FileMeta | undefined;
  /** limits.maxDepth: a file nested deeper is refused like any invalid file. */
  maxDepth = DEFAULT_LIMITS.maxDepth;
  /** How much quarantine/ keeps (quarantine.ts). */
  quarantineBounds: QuarantineBounds = DEFAULT_QUARANTINE;

  constructor(
    readonly configPath: string,
    readonly stateDir: string,
    private readonly fs: FsOps,
    private readonly log: Logger,
  ) {
    this.state = new SidecarState(stateDir, fs);
    this.backups = new Backups(path.join(stateDir, 'backups'), fs);
  }

  get quarantineDir(): string {
    return path.join(this.stateDir, 'quarantine');
  }

  /** Reads and checks the file; an unusable file is moved to quarantine and start-up stops. */
  async load(): Promise<LoadedConfig> {
    const dir = path.dirname(this.configPath);
    await this.fs.mkdir(dir, 0o700);
    await this.removeStrayTemps(dir);
    const { record, problem: stateProblem } = await this.state.read();
    if (stateProblem !== undefined) this.log.warn(stateProblem);
    let raw: Buffer;
    try {
      const stat = await this.fs.stat(this.configPath);
      if (!stat.isFile()) throw new StartupError(`${this.configPath} is not a regular file`);
      this.mode = stat.mode & 0o777;
      raw = await this.fs.readFile(this.configPath);
    } catch (error) {
      if ((error as { code?: string }).code === 'ENOENT') {
        if (record?.configExisted) {
          const recovered = await this.recoverFromBackup(undefined, 'the file was missing');
          if (recovered !== undefined) return recovered;
          throw new StartupError(
            `${this.configPath} is missing but existed before; refusing to start empty. ` +
              `Put the file back (see ${this.quarantineDir}), or remove ${this.state.path} to start empty on purpose.`,
          );
        }
        return { doc: {}, existed: false };
      }
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
      const recovered = await this.recoverFromBackup(kept, checked);
      if (recovered !== undefined) return recovered;
      throw new StartupError(
        `${this.configPath} is not a valid config (${checked}); it was moved to ${kept} and left untouched there. ` +
          `Fix it and move it back, or remove it to start empty.`,
      );
    }
    this.diskBytes = raw;
    // With a schema, the file becomes a backup once it is known to match (schema-start.ts).
    if (this.meta === undefined) await this.keepBackup(raw, true);
    return { doc: checked.doc, existed: true, fileVersion: checked.version, ...(resume === undefined ? {} : { resume }) };
  }

  /** Puts the newest valid backup in place of an unusable or missing file; undefined if there is none. */
  private async recoverFromBackup(quarantined: string | undefined, reason: string): Promise<LoadedConfig | undefined> {
    for (const backup of await this.backups.list()) {
      const bytes = await this.fs.readFile(backup.path);
      const checked = this.parse(bytes);
      if (typeof checked === 'string') {
        this.log.warn({ backup: backup.path, problem: checked }, 'skipping an unusable backup');
        continue;
      }
      await durableReplace(this.configPath, bytes, { fs: this.fs, mode: this.mode });
      this.diskBytes = bytes;
      this.log.warn({ backup: backup.path, quarantined, reason }, 'the config file was unusable; serving the newest good backup');
      return { doc: checked.doc, existed: true, fileVersion: checked.version, recovered: { backup: backup.path, quarantined, reason } };
    }
    return undefined;
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

  /** Durably replaces the file with `next`'s document; on failure the file is left as `previous`. */
  async write(next: StoreState, previous: StoreState): Promise<void> {
    const data = this.render(next.doc);
    // A hand edit already in canonical form is on disk as it would be written: don't touch the author's file.
    if (this.diskBytes !== undefined && data.equals(this.diskBytes) && this.memoryEqualsDisk) return;
    // Marked first: if the marker can't be written, the config isn't either.
    await this.state.markConfigExists();
    this.writingBytes = data;
    this.ownDuringReread?.push(data);
    try {
      await durableReplace(this.configPath, data, { fs: this.fs, mode: this.mode });
      this.diskBytes = data;
      this.memoryEqualsDisk = true;
    } catch (error) {
      if (error instanceof WriteFailure && error.renamed) await this.restore(previous);
      throw error;
    } finally {
      this.writingBytes = undefined;
    }
    await this.keepBackup(data);
  }

  /**
   * Reads the file again after a change on disk. The sidecar's own writes are
   * recognised by content and reported unchanged (kodegen #17: our own write
   * must not reload itself).
   */
  async reread(): Promise<Reread> {
    // Writes may complete while the file is being read: the bytes read can be any of them.
    const own: Buffer[] = [];
    for (const bytes of [this.diskBytes, this.writingBytes]) if (bytes !== undefined) own.push(bytes);
    this.ownDuringReread = own;
    let raw: Buffer;
    try {
      raw = await this.fs.readFile(this.configPath);
    } catch (error) {
      if ((error as { code?: string }).code === 'ENOENT') return { kind: 'missing' };
      throw error;
    } finally {
      this.ownDuringReread = undefined;
    }
    // Lengths first: comparing contents is only needed when they match.
    if (own.some((bytes) => bytes.length === raw.length && bytes.equals(raw))) return { kind: 'unchanged' };
    const checked = this.parse(raw);
    if (typeof checked === 'string') return { kind: 'invalid', problem: checked, raw };
    this.diskBytes = raw;
    return { kind: 'valid', doc: checked.doc, raw };
  }

  /** At a clean stop: record epoch and revision with the hash of the file they describe. */
  async recordCleanStop(epoch: string, revision: number): Promise<void> {
    if (this.diskBytes === undefined || !this.memoryEqualsDisk) return;
    await this.state.write({ configExisted: true, epoch, revision, contentSha256: sha256(this.diskBytes) });
  }

  /** The new file was renamed in but not made durable: put the committed text back. */
  private async restore(previous: StoreState): Promise<void> {
    try {
      const data = this.render(previous.doc);
      await durableReplace(this.configPath, data, { fs: this.fs, mode: this.mode });
      this.diskBytes = data;
      this.memoryEqualsDisk = true;
    } catch (restoreError) {
      // Memory keeps the committed state; the next successful flush rewrites the file.
      this.memoryEqualsDisk = false;
      this.log.error({ err: restoreError, path: this.configPath }, 'could not put the committed config back after a failed write');
    }
  }

  /** The bytes the file should hold for `doc`. */
  render(doc: JsonObject): Buffer {
    const text = documentText(doc).text;
    return Buffer.from(this.meta === undefined ? text : withMeta(text, this.meta));
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
  async keepRejected(raw: Buffer): Promise<string> {
    await this.fs.mkdir(this.quarantineDir, 0o700);
    const target = this.quarantineName('rejected');
    await durableReplace(target, raw, { fs: this.fs, mode: 0o600 });
    await boundQuarantine(this.quarantineDir, this.fs, this.quarantineBounds, this.log, target);
    return target;
  }

  private async removeStrayTemps(dir: string): Promise<void> {
    const prefix = tempPrefix(this.configPath);
    for (const name of await this.fs.readdir(dir)) {
      if (!name.startsWith(prefix)) continue;
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

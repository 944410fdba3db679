// The config file on disk: reading it once at start (refusing what is not a
// JSON object, keeping a bad file aside instead of overwriting it), and
// writing each new committed version durably. Stray temp files from a crash
// mid-write are removed at start.
import path from 'node:path';
import { FORBIDDEN_SEGMENTS, isPlainObject } from '../protocol/index.js';
import type { JsonObject } from './document.js';
import { durableReplace, tempPrefix, WriteFailure } from './durable-write.js';
import type { FsOps } from './fs-ops.js';
import { documentText } from './json-text.js';
import type { Logger } from './logger.js';
import type { StoreState } from './store-state.js';

/** Start-up cannot go on; the message says why and what to do. */
export class StartupError extends Error {
  override readonly name = 'StartupError';
}

export interface LoadedConfig {
  doc: JsonObject;
  /** false when there was no file: nothing is written until the first set. */
  existed: boolean;
}

export class ConfigFile {
  private mode = 0o600;
  private markedExisting = false;
  /** False after a failed write that could not be undone: the file holds content memory does not. */
  memoryEqualsDisk = true;

  constructor(
    readonly configPath: string,
    readonly stateDir: string,
    private readonly fs: FsOps,
    private readonly log: Logger,
  ) {}

  /** Reads and checks the file; an unusable file is moved to quarantine and start-up stops. */
  async load(): Promise<LoadedConfig> {
    const dir = path.dirname(this.configPath);
    await this.fs.mkdir(dir, 0o700);
    await this.removeStrayTemps(dir);
    let raw: Buffer;
    try {
      const stat = await this.fs.stat(this.configPath);
      if (!stat.isFile()) throw new StartupError(`${this.configPath} is not a regular file`);
      this.mode = stat.mode & 0o777;
      await this.markExisting();
      raw = await this.fs.readFile(this.configPath);
    } catch (error) {
      if ((error as { code?: string }).code === 'ENOENT') {
        if (await this.existedBefore()) {
          throw new StartupError(
            `${this.configPath} is missing but existed before; refusing to start empty. ` +
              `Put the file back (see ${this.quarantineDir}), or remove ${this.markerPath} to start empty on purpose.`,
          );
        }
        return { doc: {}, existed: false };
      }
      if (error instanceof StartupError) throw error;
      throw new StartupError(`cannot read ${this.configPath}: ${(error as Error).message}`);
    }
    const problem = checkText(raw);
    if (typeof problem === 'string') {
      const kept = await this.quarantine();
      throw new StartupError(
        `${this.configPath} is not a valid config (${problem}); it was moved to ${kept} and left untouched there. ` +
          `Fix it and move it back, or remove it to start empty.`,
      );
    }
    return { doc: problem.doc, existed: true };
  }

  private get quarantineDir(): string {
    return path.join(this.stateDir, 'quarantine');
  }

  /** Records that a config file exists, so a later start finding none knows it was lost, not new. */
  private get markerPath(): string {
    return path.join(this.stateDir, 'state.json');
  }

  private async existedBefore(): Promise<boolean> {
    try {
      await this.fs.stat(this.markerPath);
      return true;
    } catch (error) {
      if ((error as { code?: string }).code === 'ENOENT') return false;
      throw error;
    }
  }

  private async markExisting(): Promise<void> {
    if (this.markedExisting) return;
    const text = Buffer.from(JSON.stringify({ configExisted: true }) + '\n');
    await durableReplace(this.markerPath, text, { fs: this.fs, mode: 0o600 });
    this.markedExisting = true;
  }

  /** Durably replaces the file with `next`'s document; on failure the file is left as `previous`. */
  async write(next: StoreState, previous: StoreState): Promise<void> {
    const text = documentText(next.doc).text;
    // Marked first: if the marker can't be written, the config isn't either.
    await this.markExisting();
    try {
      await durableReplace(this.configPath, Buffer.from(text), { fs: this.fs, mode: this.mode });
      this.memoryEqualsDisk = true;
    } catch (error) {
      if (error instanceof WriteFailure && error.renamed) await this.restore(previous);
      throw error;
    }
  }

  /** The new file was renamed in but not made durable: put the committed text back. */
  private async restore(previous: StoreState): Promise<void> {
    try {
      await durableReplace(this.configPath, Buffer.from(documentText(previous.doc).text), { fs: this.fs, mode: this.mode });
      this.memoryEqualsDisk = true;
    } catch (restoreError) {
      // Memory keeps the committed state; the next successful flush rewrites the file.
      this.memoryEqualsDisk = false;
      this.log.error({ err: restoreError, path: this.configPath }, 'could not put the committed config back after a failed write');
    }
  }

  private async quarantine(): Promise<string> {
    await this.fs.mkdir(this.quarantineDir, 0o700);
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const target = path.join(this.quarantineDir, `${path.basename(this.configPath)}.${stamp}.invalid`);
    await this.fs.rename(this.configPath, target);
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

/** The parsed document, or why the text is not a usable config. */
export function checkText(raw: Buffer): { doc: JsonObject } | string {
  if (raw.length === 0) return 'the file is empty';
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch (error) {
    return `invalid JSON: ${(error as Error).message}`;
  }
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

// Notices changes to the config file made by anyone: the directory is watched,
// not the file, because editors save by writing a new file and renaming it
// over the old one (vim, VS Code), which a watch on the old inode would miss.
// Bursts of events (create, write, rename) become one notification. Events
// for an editor's own files beside the config (a swap or lock file, a backup)
// are told apart: someone has the file open.
import { watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../ops/logger.js';

/**
 * Whether `name`, beside the config file `configName`, is an editor's file for
 * it: vim's and nano's swap `.config.json.swp` (vim counts down .swo, .swn...
 * and tries .swx), emacs's lock `.#config.json` and auto-save `#config.json#`,
 * Kate's `.config.json.kate-swp`, JetBrains's `config.json___jb_tmp___` and
 * `___jb_old___`, backups `config.json~` and `config.json.bak`. Only these
 * shapes: a neighbour that merely holds the name (`my-config.json`, the
 * sidecar's own `config.schema.json`) is not an editor.
 */
export function isEditorFile(name: string, configName: string): boolean {
  const exact = [`.#${configName}`, `#${configName}#`, `.${configName}.kate-swp`, `${configName}___jb_tmp___`, `${configName}___jb_old___`, `${configName}~`, `${configName}.bak`];
  if (exact.includes(name)) return true;
  const swap = `.${configName}.s`;
  return name.length === swap.length + 2 && name.startsWith(swap) && /^[a-z]{2}$/.test(name.slice(-2));
}

/** How long a burst of events is let settle before the file is read. */
const SETTLE_MS = 25;

export class FileWatch {
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly configPath: string,
    private readonly onChange: () => void,
    private readonly log: Logger,
    /** Called when an editor's file for the config changes (isEditorFile). */
    private readonly onEditorActivity?: () => void,
  ) {}

  start(): void {
    const name = path.basename(this.configPath);
    this.watcher = watch(path.dirname(this.configPath), { persistent: false }, (_event, filename) => {
      if (filename !== null && this.onEditorActivity !== undefined && isEditorFile(filename, name)) this.onEditorActivity();
      // Some platforms do not report the name; then any change in the directory is checked.
      if (filename !== null && filename !== name) return;
      // Counted from the first event of a burst and never restarted: under steady writes (the sidecar's
      // own renames are events too) a timer restarted on every event would never fire.
      if (this.timer !== undefined) return;
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.onChange();
      }, SETTLE_MS);
    });
    this.watcher.on('error', (error) => this.log.error({ err: error }, 'watching the config directory failed; hand edits are not picked up until SIGHUP'));
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.watcher?.close();
    this.watcher = undefined;
  }
}

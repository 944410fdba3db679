// Notices changes to the config file made by anyone: the directory is watched,
// not the file, because editors save by writing a new file and renaming it
// over the old one (vim, VS Code), which a watch on the old inode would miss.
// Bursts of events (create, write, rename) become one notification. Events
// for an editor's own files beside the config (a swap or lock file, a backup,
// a temp file named after it) are told apart: someone has the file open.
import { watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../ops/logger.js';

/**
 * Whether `name`, beside the config file `configName`, is an editor's file for
 * it: vim and nano's `.config.json.swp` (.swo, .swx...), emacs's `.#config.json`
 * and `#config.json#`, backups `config.json~`, JetBrains's
 * `config.json___jb_tmp___`: names that hold the config's name. Not the
 * sidecar's state directory (`ownName`) nor the config itself.
 */
export function isEditorFile(name: string, configName: string, ownName: string): boolean {
  return name !== configName && name !== ownName && name.includes(configName);
}

export class FileWatch {
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly configPath: string,
    private readonly onChange: () => void,
    private readonly log: Logger,
    private readonly settleMs = 25,
    /** An editor's file for the config changed (isEditorFile); `ownName` is the sidecar's own entry beside the config. */
    private readonly editor?: { ownName: string; onActivity: () => void },
  ) {}

  start(): void {
    const name = path.basename(this.configPath);
    this.watcher = watch(path.dirname(this.configPath), { persistent: false }, (_event, filename) => {
      if (filename !== null && this.editor !== undefined && isEditorFile(filename, name, this.editor.ownName)) this.editor.onActivity();
      // Some platforms do not report the name; then any change in the directory is checked.
      if (filename !== null && filename !== name) return;
      // Counted from the first event of a burst and never restarted: under steady writes (the sidecar's
      // own renames are events too) a timer restarted on every event would never fire.
      if (this.timer !== undefined) return;
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.onChange();
      }, this.settleMs);
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

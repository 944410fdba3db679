// The layers below the user file while the sidecar runs: the system file
// (read-only, re-read when it changes on disk), the fleet layer (an etcd prefix
// followed by sidecar/fleet/, loaded only when configured) and the locks. Each
// change goes to the commit queue as new layers, one at a time; a layer the
// schema refuses is not applied (its last valid state stays served) and health
// says why. Nothing here makes reads or writes wait on etcd.
import { readFile } from 'node:fs/promises';
import { formatPath, isPlainObject } from '../../protocol/index.js';
import { parseExactJson } from '../../protocol/exact-json.js';
import type { CommitQueue, RevisionSource } from '../store/commit-queue.js';
import type { JsonObject } from '../store/document.js';
import { FileWatch } from '../file/file-watch.js';
import type { FleetConnection, FleetSource, FleetStatus } from '../fleet/index.js';
import type { Logger } from '../ops/logger.js';
import type { LowerLayers, StoreState } from '../store/store-state.js';
import { withoutLocked } from './layer-merge.js';

export interface LayerOptions {
  fleet?: FleetConnection;
  systemFile?: string;
  locks?: string[][];
}

export class LayerSources {
  private queue: CommitQueue | undefined;
  /** Layers as last applied (accepted by the queue). */
  private applied: LowerLayers;
  /** Changes wait for the one before (each is judged against the layers it left). */
  private chain: Promise<void> = Promise.resolve();
  private fleetSource: FleetSource | undefined;
  private systemWatch: FileWatch | undefined;
  private readonly problems = new Map<'fleet' | 'system', string>();

  private constructor(
    private readonly options: LayerOptions,
    private readonly stateDir: string,
    private readonly maxDepth: number,
    private readonly log: Logger,
    initial: LowerLayers,
  ) {
    this.applied = initial;
  }

  /** Reads the system file and the stored fleet state (etcd is followed in the background). */
  static async start(options: LayerOptions, stateDir: string, maxDepth: number, log: Logger): Promise<LayerSources> {
    const sources = new LayerSources(options, stateDir, maxDepth, log, { fleet: {}, system: {}, locks: options.locks ?? [] });
    const system = options.systemFile === undefined ? {} : ((await sources.readSystem()) ?? {});
    let fleet: JsonObject = {};
    if (options.fleet !== undefined) {
      // Loaded here only: a sidecar without --fleet never loads etcd3.
      const { FleetSource } = await import('../fleet/index.js');
      sources.fleetSource = await FleetSource.start({
        connection: options.fleet,
        stateDir: stateDir,
        onChange: (change) => sources.submit('fleet', { fleet: change.document }, `etcd revision ${change.revision}`),
        onError: (error) => log.warn({ err: error }, 'fleet layer'),
      });
      fleet = sources.fleetSource.document();
    }
    sources.applied = { ...sources.applied, fleet, system };
    return sources;
  }

  /** The layers the first served state is merged from. */
  get initial(): LowerLayers {
    return this.applied;
  }

  /** Starts handing changes to `queue` (once it exists) and watching the system file. */
  attach(queue: CommitQueue): void {
    this.queue = queue;
    // A fleet change that arrived while the sidecar was starting is served now.
    const served = queue.committed.layers;
    if (served !== undefined && served.fleet !== this.applied.fleet) void this.submit('fleet', { fleet: this.applied.fleet }, 'a change taken in during start-up');
    const systemFile = this.options.systemFile;
    if (systemFile !== undefined) {
      this.systemWatch = new FileWatch(systemFile, () => void this.rereadSystem(), this.log);
      try {
        this.systemWatch.start();
      } catch (error) {
        // A directory that does not exist (yet) cannot be watched: the file's state at start stays served.
        this.problems.set('system', `the system file's directory cannot be watched (${(error as Error).message}); changes to ${systemFile} are not picked up until a restart`);
        this.log.warn({ err: error }, 'cannot watch the system file');
      }
    }
  }

  /** Reads the system file again (it changed on disk, or SIGHUP) and serves it when it is usable. */
  async rereadSystem(): Promise<void> {
    const file = this.options.systemFile;
    if (file === undefined || this.queue === undefined) return;
    const system = await this.readSystem();
    if (system !== undefined) await this.submit('system', { system }, file);
  }

  /** Called when the first state could not take these layers (they fail the schema): serve without them. */
  refuseInitial(layer: 'fleet' | 'system', why: string): void {
    this.applied = { ...this.applied, [layer]: {} };
    this.problems.set(layer, `the ${layer} layer fails the schema and is not applied: ${why}`);
  }

  fleetStatus(): FleetStatus | undefined {
    return this.fleetSource?.status();
  }

  /** Degraded reasons: layers not applied, etcd out of reach, user values under locks. */
  reasons(committed: StoreState): string[] {
    const out = [...this.problems.values()];
    const fleet = this.fleetSource?.status();
    if (fleet !== undefined && !fleet.connected) {
      const age = fleet.ageMs === undefined ? 'never synced' : `${Math.round(fleet.ageMs / 1000)} s old`;
      out.push(`fleet: etcd not connected${fleet.lastError === undefined ? '' : ` (${fleet.lastError})`}; serving the fleet state of etcd revision ${fleet.revision ?? 'none'} (${fleet.from}, ${age})`);
    }
    for (const problem of fleet?.problems ?? []) out.push(`fleet: key ${problem.key} left out: ${problem.message}`);
    const locks = committed.layers?.locks ?? [];
    for (const ignored of withoutLocked(committed.doc, locks).ignored) {
      out.push(`the file sets ${formatPath(ignored)}, which is locked: the value from the layers below is served`);
    }
    return out;
  }

  async close(): Promise<void> {
    this.systemWatch?.stop();
    await this.fleetSource?.close();
    await this.chain;
  }

  private submit(layer: 'fleet' | 'system', change: Partial<LowerLayers>, what: string): Promise<void> {
    const run = this.chain.then(async () => {
      const next = { ...this.applied, ...change };
      if (this.queue === undefined) {
        this.applied = next;
        return;
      }
      try {
        await this.queue.submitLayers(next, layer satisfies RevisionSource);
        this.applied = next;
        this.problems.delete(layer);
      } catch (error) {
        const message = `the ${layer} layer's change (${what}) is not applied: ${(error as Error).message}; its last valid state stays served`;
        this.problems.set(layer, message);
        this.log.warn({ layer }, message);
      }
    });
    this.chain = run.catch((error: unknown) => this.log.error({ err: error }, 'layer change failed'));
    return this.chain;
  }

  /** The system file's document, {} when it does not exist, undefined (health says why) when it cannot be used. */
  private async readSystem(): Promise<JsonObject | undefined> {
    const file = this.options.systemFile!;
    let raw: Buffer;
    try {
      raw = await readFile(file);
    } catch (error) {
      if ((error as { code?: string }).code === 'ENOENT') {
        this.problems.delete('system');
        return {};
      }
      this.problems.set('system', `the system file ${file} cannot be read (${(error as Error).message}); its last valid state stays served`);
      return undefined;
    }
    const parsed = parseExactJson(raw, this.maxDepth);
    if (!parsed.ok || !isPlainObject(parsed.value)) {
      const why = parsed.ok ? 'it is not a JSON object' : parsed.problem;
      this.problems.set('system', `the system file ${file} is not usable (${why}); its last valid state stays served`);
      return undefined;
    }
    this.problems.delete('system');
    return parsed.value;
  }
}

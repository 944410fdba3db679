// The signals `serve` answers, installed before anything else is loaded: a
// SIGHUP or SIGTERM in the first few hundred milliseconds (`systemctl reload`
// right after `start`) must not take the default action, which kills the
// process. Until the sidecar serves, a signal is only remembered; serve.ts
// attaches the real handlers and is handed what arrived meanwhile. This
// module imports nothing, so it runs as soon as the runtime runs any code.

export type StopSignal = 'SIGTERM' | 'SIGINT';

export class ServeSignals {
  private stopHandler: ((signal: StopSignal) => void) | undefined;
  private reloadHandler: (() => void) | undefined;
  private levelHandler: (() => void) | undefined;
  /** A stop asked for before a handler was attached. */
  private pendingStop: StopSignal | undefined;
  /** SIGHUPs before a handler was attached (one re-read answers all of them). */
  private pendingReloads = 0;
  /** SIGUSR2s before a handler was attached (each one is a step of the log level). */
  private pendingLevelSteps = 0;

  private constructor() {}

  /** Installs the handlers for SIGTERM, SIGINT, SIGHUP and SIGUSR2; call once, first thing. */
  static install(): ServeSignals {
    const signals = new ServeSignals();
    process.on('SIGTERM', () => signals.stop('SIGTERM'));
    process.on('SIGINT', () => signals.stop('SIGINT'));
    process.on('SIGHUP', () => signals.reload());
    // SIGUSR2's default action also kills: caught from the start like the others.
    if (process.platform !== 'win32') process.on('SIGUSR2', () => signals.stepLevel());
    return signals;
  }

  /** The stop signal received so far, if any (checked when start-up ends). */
  get stopRequested(): StopSignal | undefined {
    return this.pendingStop;
  }

  /** How many SIGHUPs arrived before `onReload` was called. */
  get reloadsDuringStart(): number {
    return this.pendingReloads;
  }

  /** Handles every later stop signal (a repeated one included: stopping is idempotent on the caller's side). */
  onStop(handler: (signal: StopSignal) => void): void {
    this.stopHandler = handler;
  }

  /** Handles every later SIGHUP; SIGHUPs that arrived before are answered by one call now. */
  onReload(handler: () => void): void {
    this.reloadHandler = handler;
    if (this.pendingReloads > 0) {
      this.pendingReloads = 0;
      handler();
    }
  }

  /** Handles every later SIGUSR2; those that arrived before are replayed now, one call each. */
  onLevelStep(handler: () => void): void {
    this.levelHandler = handler;
    for (; this.pendingLevelSteps > 0; this.pendingLevelSteps--) handler();
  }

  private stepLevel(): void {
    if (this.levelHandler === undefined) this.pendingLevelSteps++;
    else this.levelHandler();
  }

  private stop(signal: StopSignal): void {
    this.pendingStop ??= signal;
    this.stopHandler?.(signal);
  }

  private reload(): void {
    if (this.reloadHandler === undefined) this.pendingReloads++;
    else this.reloadHandler();
  }
}

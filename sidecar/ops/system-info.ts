// Runtime facts about the machine for `info` (docs/defects.md, D23: OS
// facts fixed at compile time and stale copies saved into the config). Read
// with systeminformation when asked, cached for a few seconds, never at
// import time and never written into the config.
import { access, readFile } from 'node:fs/promises';
import si from 'systeminformation';
import { detectShell, type ShellResult } from './user-shell.js';

export interface SystemFacts {
  platform: string;
  distro: string;
  release: string;
  kernel: string;
  arch: string;
  hostname: string;
  virtualization: { virtual: boolean; host: string | null };
  container: string | null;
  wsl: boolean;
  shell: ShellResult;
  /** When these facts were read (ISO time). */
  readAt: string;
}

export class SystemInfo {
  private cached: { at: number; facts: Promise<SystemFacts> } | undefined;

  constructor(private readonly cacheMs = 5000) {}

  /** Fresh facts, or the ones read less than `cacheMs` ago. */
  get(): Promise<SystemFacts> {
    const now = Date.now();
    if (this.cached === undefined || now - this.cached.at > this.cacheMs) {
      const facts = readFacts();
      this.cached = { at: now, facts };
      // A failed read is not cached: the next call tries again.
      facts.catch(() => {
        if (this.cached?.facts === facts) this.cached = undefined;
      });
    }
    return this.cached.facts;
  }
}

async function readFacts(): Promise<SystemFacts> {
  const [os, system, container, shell] = await Promise.all([si.osInfo(), si.system(), detectContainer(), detectShell()]);
  return {
    platform: os.platform,
    distro: os.distro,
    release: os.release,
    kernel: os.kernel,
    arch: os.arch,
    hostname: os.hostname,
    virtualization: { virtual: system.virtual, host: system.virtualHost || null },
    container,
    wsl: /microsoft|wsl/i.test(os.kernel) || process.env.WSL_DISTRO_NAME !== undefined,
    shell,
    readAt: new Date().toISOString(),
  };
}

/** The container runtime this process runs in, if any (Linux only). */
async function detectContainer(): Promise<string | null> {
  if (process.platform !== 'linux') return null;
  if (process.env.container) return process.env.container; // systemd-nspawn, podman set this
  if (await exists('/.dockerenv')) return 'docker';
  if (await exists('/run/.containerenv')) return 'podman';
  const cgroup = await readFile('/proc/1/cgroup', 'utf8').catch((error: unknown) => {
    if ((error as { code?: string }).code === 'ENOENT' || (error as { code?: string }).code === 'EACCES') return '';
    throw error;
  });
  for (const name of ['kubepods', 'docker', 'containerd', 'lxc']) if (cgroup.includes(name)) return name;
  return null;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

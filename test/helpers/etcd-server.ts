// A real, single-member etcd for a test (or a benchmark): its own temp data
// dir, 127.0.0.1 on random free client and peer ports, optionally TLS, killed
// (and its dir removed) when the test ends. kill() and start() again keep the
// data dir and ports, so a test can take etcd away under a running fleet
// source and bring it back.
import { spawn, type ChildProcess } from 'node:child_process';
import { access, constants, mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { teardown } from './teardown.js';

/** Where the etcd binary is: $ETCD_BIN, else the first `etcd` on PATH (Debian's etcd-server puts it in /usr/bin). */
export async function findEtcd(): Promise<string | undefined> {
  const candidates = process.env.ETCD_BIN !== undefined ? [process.env.ETCD_BIN] : (process.env.PATH ?? '').split(path.delimiter).filter(Boolean).map((dir) => path.join(dir, 'etcd'));
  for (const candidate of candidates) {
    const found = await access(candidate, constants.X_OK).then(
      () => true,
      () => false,
    );
    if (found) return candidate;
  }
  return undefined;
}

/** Why etcd tests skip here, or undefined when they can run. */
export async function etcdSkipReason(): Promise<string | undefined> {
  return (await findEtcd()) === undefined
    ? 'no etcd binary on PATH (or $ETCD_BIN): install Debian\'s etcd-server package (.ci/run does when it can)'
    : undefined;
}

export interface EtcdServer {
  /** `127.0.0.1:PORT` of the client listener. */
  endpoint: string;
  /** Starts etcd (again) on the same data dir and ports; resolves once it answers /health. */
  start(): Promise<void>;
  /** SIGKILL, and wait until it is gone. */
  kill(): Promise<void>;
  /** SIGSTOP / SIGCONT: etcd keeps its connections open but answers nothing, like a partition. */
  freeze(): void;
  thaw(): void;
  readonly running: boolean;
}

/** TLS on etcd's client port: its certificate, and the CA its clients' certificates must come from (when it asks for them). */
export interface EtcdTls {
  ca: string;
  cert: string;
  key: string;
  /** Refuse clients without a certificate from `ca`. */
  clientCertAuth: boolean;
  /** A client certificate and key from `ca`, for the readiness check when clientCertAuth is on. */
  clientCert?: string;
  clientKey?: string;
}

/** A test's etcd, killed and its data dir removed when the test ends. */
export async function startEtcd(t: TestContext, tls?: EtcdTls): Promise<EtcdServer> {
  const steps = teardown(t);
  return launchEtcd(tls, (name, step) => steps.defer(name, step));
}

/** etcd started on a fresh data dir; `onCleanup` receives the steps that must run when its user is done (in reverse order). */
export async function launchEtcd(tls: EtcdTls | undefined, onCleanup: (name: string, step: () => Promise<void>) => void): Promise<EtcdServer> {
  const bin = await findEtcd();
  if (bin === undefined) throw new Error('no etcd binary (check etcdSkipReason() first)');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cs-etcd-'));
  const [clientPort, peerPort] = await freePorts(2);
  const clientUrl = `${tls === undefined ? 'http' : 'https'}://127.0.0.1:${clientPort}`;
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  const args = [
    '--name', 'test',
    '--data-dir', path.join(dir, 'data'),
    '--listen-client-urls', clientUrl,
    '--advertise-client-urls', clientUrl,
    '--listen-peer-urls', peerUrl,
    '--initial-advertise-peer-urls', peerUrl,
    '--initial-cluster', `test=${peerUrl}`,
    '--logger', 'zap',
    '--log-level', 'error',
    // Idle watches hear from etcd every 300 ms (default 10 min), so lag settles quickly in tests.
    '--experimental-watch-progress-notify-interval', '300ms',
    ...(tls === undefined ? [] : ['--cert-file', tls.cert, '--key-file', tls.key, '--trusted-ca-file', tls.ca]),
    ...(tls?.clientCertAuth === true ? ['--client-cert-auth'] : []),
  ];
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let stderr = '';

  const kill = async () => {
    const running = child;
    if (running === undefined || running.exitCode !== null || running.signalCode !== null) return;
    running.kill('SIGKILL');
    await exited;
  };
  const start = async () => {
    if (child !== undefined && child.exitCode === null && child.signalCode === null) throw new Error('etcd is already running');
    stderr = '';
    const spawned = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child = spawned;
    spawned.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4000)));
    exited = new Promise((resolve) => spawned.once('exit', () => resolve()));
    await waitHealthy(clientUrl, spawned, () => stderr, 15_000, tls);
  };

  onCleanup('remove the etcd data dir', () => rm(dir, { recursive: true, force: true }));
  // SIGKILL ends a stopped process too.
  onCleanup('kill etcd', kill);
  await start();
  return {
    endpoint: `127.0.0.1:${clientPort}`,
    start,
    kill,
    freeze: () => void child?.kill('SIGSTOP'),
    thaw: () => void child?.kill('SIGCONT'),
    get running() {
      return child !== undefined && child.exitCode === null && child.signalCode === null;
    },
  };
}

/** Ports the kernel hands out now (bound, read, released; etcd binds them right after). */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () => new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve(server));
    })),
  );
  const ports = servers.map((server) => (server.address() as { port: number }).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

async function waitHealthy(clientUrl: string, child: ChildProcess, stderr: () => string, timeoutMs: number, tls: EtcdTls | undefined): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`etcd exited (${child.exitCode ?? child.signalCode}) before answering:\n${stderr()}`);
    try {
      const { status, body } = await getHealth(`${clientUrl}/health`, tls);
      if (status === 200 && body.includes('"health":"true"')) return;
      last = `HTTP ${status} ${body}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`etcd at ${clientUrl} did not answer /health within ${timeoutMs} ms (${last}):\n${stderr()}`);
}

/** GET over http, or https trusting the test CA (with the client certificate when there is one). */
async function getHealth(url: string, tls: EtcdTls | undefined): Promise<{ status: number; body: string }> {
  const ca = tls === undefined ? undefined : await readFile(tls.ca);
  const cert = tls?.clientCert === undefined ? undefined : await readFile(tls.clientCert);
  const key = tls?.clientKey === undefined ? undefined : await readFile(tls.clientKey);
  return new Promise((resolve, reject) => {
    const request = (tls === undefined ? http : https).get(url, { ca, cert, key, timeout: 1000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error('no answer within 1 s')));
    request.on('error', reject);
  });
}

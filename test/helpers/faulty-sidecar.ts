// An in-process sidecar whose persistence goes through a FaultyFs, with a
// client connected to it; both stopped when the test ends.
import type { TestContext } from 'node:test';
import { connect, type ConfigClient } from '../../client/index.js';
import { Sidecar, createLogger } from '../../sidecar/index.js';
import { FaultyFs } from './faulty-fs.js';
import { testPaths, type TestPaths } from './temp-dir.js';

export interface FaultySidecar {
  faulty: FaultyFs;
  sidecar: Sidecar;
  client: ConfigClient;
  paths: TestPaths;
}

export async function startFaultySidecar(t: TestContext): Promise<FaultySidecar> {
  const paths = await testPaths(t);
  const faulty = new FaultyFs();
  const sidecar = await Sidecar.start({ configPath: paths.configPath, socketPath: paths.socketPath, fs: faulty.fs, logger: createLogger('silent') });
  t.after(() => sidecar.stop());
  const client = connect({ socketPath: paths.socketPath });
  t.after(() => client.close());
  return { faulty, sidecar, client, paths };
}

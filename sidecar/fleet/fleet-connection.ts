// How to reach the fleet's etcd: endpoints and prefix from the URL, TLS files
// and user/password, resolved once from the `--fleet*` flags (parseArgs
// options listed here so the CLI takes them as they are). Secrets never come
// from the command line: the password is read from a file or the environment.
import { readFile } from 'node:fs/promises';
import { FleetConfigError, parseFleetUrl, type FleetUrl } from './fleet-url.js';

/** The `--fleet*` flags in node:util parseArgs form. */
export const FLEET_FLAGS = {
  fleet: { type: 'string' },
  'fleet-ca': { type: 'string' },
  'fleet-cert': { type: 'string' },
  'fleet-key': { type: 'string' },
  'fleet-user': { type: 'string' },
  'fleet-password-file': { type: 'string' },
} as const;

/** The values parseArgs gives for FLEET_FLAGS. */
export interface FleetFlagValues {
  fleet?: string | undefined;
  'fleet-ca'?: string | undefined;
  'fleet-cert'?: string | undefined;
  'fleet-key'?: string | undefined;
  'fleet-user'?: string | undefined;
  'fleet-password-file'?: string | undefined;
}

/** Environment variable holding the etcd password when no --fleet-password-file is given. */
export const FLEET_PASSWORD_ENV = 'CONFIG_SIDECAR_FLEET_PASSWORD';

/** Everything needed to open the etcd client. */
export interface FleetConnection extends FleetUrl {
  /** TLS: the CA that signed the etcd servers' certificates, and an optional client certificate. */
  tls?: { ca: Buffer; cert?: Buffer; key?: Buffer };
  /** etcd user/password authentication. */
  auth?: { username: string; password: string };
}

/** The connection the flags describe, or undefined when no --fleet is given. */
export async function resolveFleetConnection(
  flags: FleetFlagValues,
  env: NodeJS.ProcessEnv = process.env,
): Promise<FleetConnection | undefined> {
  if (flags.fleet === undefined) {
    const stray = Object.entries(flags).find(([name, value]) => name !== 'fleet' && value !== undefined);
    if (stray !== undefined) throw new FleetConfigError(`--${stray[0]} needs --fleet`);
    return undefined;
  }
  const connection: FleetConnection = parseFleetUrl(flags.fleet);

  const ca = flags['fleet-ca'];
  const cert = flags['fleet-cert'];
  const key = flags['fleet-key'];
  if ((cert === undefined) !== (key === undefined)) throw new FleetConfigError('--fleet-cert and --fleet-key go together');
  if (cert !== undefined && ca === undefined) throw new FleetConfigError('--fleet-cert needs --fleet-ca (TLS is on only with a CA)');
  if (ca !== undefined) {
    connection.tls = { ca: await readSetting('--fleet-ca', ca) };
    if (cert !== undefined && key !== undefined) {
      connection.tls.cert = await readSetting('--fleet-cert', cert);
      connection.tls.key = await readSetting('--fleet-key', key);
    }
  }

  const username = flags['fleet-user'];
  const passwordFile = flags['fleet-password-file'];
  if (username === undefined) {
    if (passwordFile !== undefined) throw new FleetConfigError('--fleet-password-file needs --fleet-user');
  } else {
    const password =
      passwordFile !== undefined ? (await readSetting('--fleet-password-file', passwordFile)).toString('utf8').replace(/\r?\n$/, '') : env[FLEET_PASSWORD_ENV];
    if (password === undefined || password === '') {
      throw new FleetConfigError(`--fleet-user ${username} needs a password: --fleet-password-file PATH or ${FLEET_PASSWORD_ENV}`);
    }
    connection.auth = { username, password };
  }
  return connection;
}

async function readSetting(flag: string, file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (error) {
    throw new FleetConfigError(`${flag} ${file}: cannot read it (${(error as Error).message})`, { cause: error });
  }
}

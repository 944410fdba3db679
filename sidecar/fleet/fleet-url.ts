// The fleet URL: `etcd://HOST:PORT[,HOST:PORT…]/PREFIX`. The URL's path, leading
// slash included, is the etcd key prefix the fleet layer reads.

/** Where the fleet layer lives: etcd endpoints and the key prefix. */
export interface FleetUrl {
  /** `host:port` of each etcd endpoint, in the order given. */
  endpoints: string[];
  /** Key prefix, starting and ending with `/` (`/apps/demo/`). */
  prefix: string;
}

/** A fleet setting that cannot be used; the message names the setting and what is wrong. */
export class FleetConfigError extends Error {
  override readonly name = 'FleetConfigError';
}

const DEFAULT_PORT = 2379;

export function parseFleetUrl(url: string): FleetUrl {
  const bad = (why: string) => new FleetConfigError(`--fleet ${JSON.stringify(url)}: ${why}`);
  const match = /^etcd:\/\/([^/?#]*)(\/[^?#]*)?$/.exec(url);
  if (match === null) throw bad('expected etcd://HOST:PORT[,HOST:PORT…]/PREFIX/ (no query or fragment)');
  const [, hostList = '', prefix = ''] = match;
  if (hostList === '') throw bad('no etcd endpoint before the prefix');
  const endpoints = hostList.split(',').map((entry) => endpoint(entry, bad));
  if (prefix === '') throw bad('no key prefix: add the path, e.g. etcd://127.0.0.1:2379/apps/demo/');
  // Without the trailing slash, /apps/demo would also read /apps/demo2/...
  if (!prefix.endsWith('/')) throw bad(`the key prefix ${JSON.stringify(prefix)} must end with "/"`);
  if (prefix.includes('//')) throw bad(`the key prefix ${JSON.stringify(prefix)} has an empty segment ("//")`);
  return { endpoints, prefix: decodePrefix(prefix, bad) };
}

function endpoint(entry: string, bad: (why: string) => FleetConfigError): string {
  if (entry.includes('@')) throw bad('credentials do not go in the URL: use --fleet-user and --fleet-password-file');
  // host, host:port, [v6], [v6]:port
  const match = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::(\d+))?$/.exec(entry);
  if (match === null) throw bad(`endpoint ${JSON.stringify(entry)} is not HOST or HOST:PORT`);
  const [, host = '', portText] = match;
  const port = portText === undefined ? DEFAULT_PORT : Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw bad(`endpoint ${JSON.stringify(entry)} has port out of range 1-65535`);
  return `${host}:${port}`;
}

function decodePrefix(prefix: string, bad: (why: string) => FleetConfigError): string {
  try {
    return decodeURIComponent(prefix);
  } catch (error) {
    throw bad(`the key prefix has a broken %-escape (${(error as Error).message})`);
  }
}

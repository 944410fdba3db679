// The package version, read once at start-up from package.json.
import { readFileSync } from 'node:fs';

function readVersion(): string {
  // dist/sidecar/version.js -> ../../package.json
  const text = readFileSync(new URL('../../../package.json', import.meta.url), 'utf8');
  const version = (JSON.parse(text) as { version?: unknown }).version;
  if (typeof version !== 'string') throw new Error('package.json has no version');
  return version;
}

export const VERSION = readVersion();

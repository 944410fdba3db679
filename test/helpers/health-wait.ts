// Waiting, with a bound, for the sidecar's health to leave "ok" (a hand edit
// is judged after the file settles, so the change shows up a little later).
import type { ConfigClient } from '../../client/index.js';
import type { HealthResult } from '../../protocol/index.js';

export async function healthOnceNotOk(client: ConfigClient, timeoutMs = 5000): Promise<HealthResult> {
  const deadline = Date.now() + timeoutMs;
  let health = await client.health();
  while (health.status === 'ok' && Date.now() < deadline) health = await client.health();
  return health;
}

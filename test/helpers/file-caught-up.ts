// Waiting, with a bound, for the config file to hold the committed state: a
// write is acknowledged once it is durable in the commit journal, and the
// file is rewritten behind it (docs/decisions.md, "The commit journal").
// Tests that read the file itself after writes through a client wait here
// first (or write with `waitForFile: true`).
import type { ConfigClient } from '../../client/index.js';

/** Resolves once the file holds the revision committed when this was called; rejects after `timeoutMs`. */
export async function fileCaughtUp(client: ConfigClient, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const committed = (await client.ping()).revision;
  for (;;) {
    const stats = await client.stats();
    const file = stats.file as { revision: number; failedRewrites: number } | undefined;
    if (file === undefined) throw new Error('stats has no file section');
    if (file.revision >= committed) return;
    if (Date.now() > deadline) throw new Error(`the config file still holds revision ${file.revision} of ${committed} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

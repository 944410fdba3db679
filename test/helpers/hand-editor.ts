// A person editing the config file while the sidecar runs, as its own
// process: each edit reads the file, adds `hand_<i>: i`, and saves, either as
// an editor that writes a new file and renames it over the old one (vim,
// VS Code) or as one that rewrites the file in place; 40–70 ms between edits.
// Usage: hand-editor.js CONFIG COUNT SEED. Prints one JSON line when done.
import { readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { seededRandom } from './seeded-random.js';

const [configPath, countText, seedText] = process.argv.slice(2) as [string, string, string];
const count = Number(countText);
const random = seededRandom(Number(seedText));
let retried = 0;

for (let i = 0; i < count; i++) {
  // A read can meet the file mid-rewrite (another in-place save): read again, as a person would.
  let doc: Record<string, unknown> | undefined;
  for (let attempt = 0; doc === undefined; attempt++) {
    try {
      doc = JSON.parse(await readFile(configPath, 'utf8')) as Record<string, unknown>;
    } catch (error) {
      if (attempt > 50) throw error;
      retried++;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
  doc[`hand_${i}`] = i;
  const text = JSON.stringify(doc, null, 2) + '\n';
  if (i % 2 === 0) {
    const temp = path.join(path.dirname(configPath), `.${path.basename(configPath)}.swp`);
    await writeFile(temp, text);
    await rename(temp, configPath);
  } else {
    await writeFile(configPath, text);
  }
  await new Promise((resolve) => setTimeout(resolve, 40 + Math.floor(random() * 31)));
}
process.stdout.write(JSON.stringify({ edits: count, retriedReads: retried }) + '\n');

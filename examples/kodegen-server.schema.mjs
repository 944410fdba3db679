// The kodegen server config as a config-sidecar schema: every field it
// accepted unchecked is checked here, when it is written (docs/defects.md).
//
//   config-sidecar serve --schema examples/kodegen-server.schema.mjs
//
// Defaults are a layer: they show in `get` / `dump` / watches and are never
// written into the file, so changing one here takes effect at the next start.
import { z } from 'zod';
import { boundedArray, executableFile, existingDirectory, port, regexPattern, url } from 'config-sidecar/validators';

/** Version 2 stores fuzzy_search_threshold as a fraction (0.655), not as a rounded percentage (docs/defects.md, D18). */
export const schemaVersion = 2;

export const migrations = {
  // Version 1 kept the threshold as an integer percentage: 65 meant 0.65.
  2: (doc) => {
    if (typeof doc.fuzzy_search_threshold === 'number' && doc.fuzzy_search_threshold > 1) {
      doc.fuzzy_search_threshold = doc.fuzzy_search_threshold / 100;
    }
    return doc;
  },
};

const clientInfo = z.strictObject({
  name: z.string().min(1).max(200),
  version: z.string().max(100),
});

export const schema = z
  .strictObject({
    // D16, D22: a shell that exists and can be executed; unset means "detect at run time" (`config-sidecar info`).
    default_shell: executableFile().optional(),
    // D16: absolute, existing, canonical (symlinks resolved) directories; D20: bounded.
    allowed_directories: boundedArray(existingDirectory(), { max: 1000 }).default([]),
    denied_directories: boundedArray(existingDirectory(), { max: 1000 }).default([]),
    // D15, D20: patterns that compile, a bounded number of them.
    blocked_commands: boundedArray(regexPattern(), { max: 10_000 }).default([]),
    // D15: a zero limit would break every read.
    file_read_line_limit: z.number().int().min(1).max(10_000_000).default(1000),
    file_write_line_limit: z.number().int().min(1).max(10_000_000).default(50),
    // D18: a fraction, stored as given.
    fuzzy_search_threshold: z.number().min(0).max(1).default(0.7),
    // D17: no arbitrary ceiling beyond "a day", and the bound is in the message.
    path_validation_timeout_ms: z.number().int().min(1).max(86_400_000).default(30_000),
    // D21: the last 100 clients, not an unbounded history.
    client_history: boundedArray(clientInfo, { max: 100 }).default([]),
    current_client: clientInfo.optional(),
    http: z
      .strictObject({
        port: port().default(30437),
        public_url: url().optional(),
      })
      .prefault({}),
  })
  // D15: a directory both allowed and denied is a contradiction, not a precedence puzzle.
  .superRefine((config, ctx) => {
    const allowed = new Set(config.allowed_directories);
    config.denied_directories.forEach((dir, index) => {
      if (allowed.has(dir)) ctx.addIssue({ code: 'custom', path: ['denied_directories', index], message: `${dir} is also in allowed_directories`, input: dir });
    });
  });

// In-thread module hooks (module.registerHooks) for slow-schema-worker.ts:
// the client's schema module finishes loading only after `delayMs`, as on a
// cold disk, so a typed client's first calls are made before it knows the
// schema's hash. The delay is a top-level await put in front of the module's
// source: the module waits, nothing else does (the link comes up meanwhile).
import { registerHooks } from 'node:module';

export function slowSchemaModule(delayMs: number): void {
  registerHooks({
    load(url, context, nextLoad) {
      const loaded = nextLoad(url, context);
      if (!url.endsWith('/client/schema-check.js')) return loaded;
      return { ...loaded, source: `await new Promise((resolve) => setTimeout(resolve, ${delayMs}));\n${String(loaded.source)}` };
    },
  });
}

// A typed client in its own process whose schema module loads slowly
// (slow-schema-hooks.ts): it makes a get and a delete of `shell` at once,
// before the schema is loaded, against a sidecar serving another schema, and
// prints one JSON line with what each came to (the value, or the error code).
// Usage: node slow-schema-worker.js SOCKET DELAY_MS
import { z } from 'zod';
import { connect, ConfigSidecarError } from '../../client/index.js';
import { slowSchemaModule } from './slow-schema-hooks.js';

const [socketPath, delayMs] = process.argv.slice(2);
if (socketPath === undefined || delayMs === undefined) throw new Error('usage: slow-schema-worker.js SOCKET DELAY_MS');
slowSchemaModule(Number(delayMs));

const outcome = (promise: Promise<unknown>) =>
  promise.then(
    (value) => ({ value }),
    (error: unknown) => {
      if (error instanceof ConfigSidecarError) return { error: error.code };
      throw error;
    },
  );

const client = connect({ socketPath, schema: z.object({ shell: z.number() }) });
try {
  const [get, del] = await Promise.all([outcome(client.get('shell')), outcome(client.delete('shell'))]);
  process.stdout.write(JSON.stringify({ get, delete: del }) + '\n');
} finally {
  client.close();
}

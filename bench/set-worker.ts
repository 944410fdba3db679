// Durable-set load against the sidecar: the real client library, --in-flight
// sets outstanding, each to a key never written before (w<index>.k<seq>, or
// w<index>.b<bucket>.k<seq> with --bucket-size) or, with --key-space N, to one
// of N keys in turn (w<index>.k<seq % N>), for --duration-ms. Every set
// resolves only once the sidecar has made it durable. With
// --until-disconnected the run also ends when the sidecar goes away (the
// runner kills it -9 under load): the writes then in flight or queued count
// as failed, their outcome unknown.
import { connect } from '../client/index.js';
import { documentPath, runTimedWrites, writeValue } from './durable-write-result.js';
import { numberArg, startWorker, stringArg } from './worker-lifecycle.js';

const worker = startWorker('set-worker', {
  socket: { type: 'string' },
  'worker-index': { type: 'string' },
  'in-flight': { type: 'string', default: '16' },
  'duration-ms': { type: 'string', default: '10000' },
  'bucket-size': { type: 'string', default: '0' },
  'key-space': { type: 'string', default: '0' },
  'until-disconnected': { type: 'boolean', default: false },
});
const socketPath = stringArg(worker.values, 'socket');
const index = numberArg(worker.values, 'worker-index');
const inFlight = numberArg(worker.values, 'in-flight');
const durationMs = numberArg(worker.values, 'duration-ms');
const layout = { bucketSize: numberArg(worker.values, 'bucket-size'), keySpace: numberArg(worker.values, 'key-space') };

const client = connect({ socketPath, name: `bench-set-${index}`, defaultTimeoutMs: 30_000 });
await client.ready();
let disconnected = false;
if (worker.values['until-disconnected'] === true) {
  client.on('status', (event) => {
    if (event.type !== 'disconnected' || disconnected) return;
    disconnected = true;
    // Fails what is queued for a reconnect at once, instead of sending it to the next sidecar.
    client.close();
  });
}
await worker.ready();
const result = await runTimedWrites({
  workerIndex: index,
  durationMs,
  lanes: inFlight,
  write: (seq) => client.set(documentPath(index, seq, layout).join('.'), writeValue(index, seq)),
  stopped: () => disconnected,
});
client.close();
worker.finish(result);

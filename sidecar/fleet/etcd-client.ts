// Opens the etcd3 client for a fleet connection. The only place that loads
// etcd3, and only when called (dynamic import): a sidecar without --fleet, the
// client library and the CLI's start-up never load it or its gRPC stack.
import type { Etcd3, IOptions } from 'etcd3';
import type { FleetConnection } from './fleet-connection.js';

/** Timing of the etcd connection; tests shorten them. */
export interface EtcdClientTiming {
  /** Deadline of each unary call (range reads). */
  callTimeoutMs: number;
  /** gRPC keepalive ping interval: how soon a silent partition is noticed (etcd refuses pings more often than every 5 s). */
  keepaliveMs: number;
  /** Longest gRPC reconnect backoff, so a recovered etcd is found soon. */
  maxReconnectBackoffMs: number;
}

export const DEFAULT_ETCD_TIMING: EtcdClientTiming = { callTimeoutMs: 5000, keepaliveMs: 10_000, maxReconnectBackoffMs: 2000 };

type FaultHandling = NonNullable<IOptions['faultHandling']>;
type Policy = NonNullable<FaultHandling['global']>;

// The fleet source has its own retry loop with backoff (fleet-backoff.ts). etcd3's default
// retries and per-host circuit breaker would add a hidden delay of up to 5 s after etcd
// comes back, so calls go straight through and fail fast instead.
const passThrough: Policy = {
  _altReturn: undefined as never,
  onSuccess: () => ({ dispose: () => undefined }),
  onFailure: () => ({ dispose: () => undefined }),
  execute: async (fn, signal) => fn({ signal: signal ?? new AbortController().signal }),
};

export async function openEtcdClient(connection: FleetConnection, timing: EtcdClientTiming = DEFAULT_ETCD_TIMING): Promise<Etcd3> {
  const { Etcd3: Client } = await import('etcd3');
  const options: IOptions = {
    hosts: connection.endpoints,
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + timing.callTimeoutMs }),
    faultHandling: { host: () => passThrough, global: passThrough },
    grpcOptions: {
      'grpc.keepalive_time_ms': timing.keepaliveMs,
      'grpc.keepalive_timeout_ms': Math.max(1000, Math.floor(timing.keepaliveMs / 2)),
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.initial_reconnect_backoff_ms': Math.min(200, timing.maxReconnectBackoffMs),
      'grpc.max_reconnect_backoff_ms': timing.maxReconnectBackoffMs,
      // A fleet prefix is read in one range response; gRPC's default cap is 4 MiB.
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
      // Each source keeps its own connection state (no sharing of a failed subchannel's backoff).
      'grpc.use_local_subchannel_pool': 1,
    },
  };
  if (connection.tls !== undefined) {
    options.credentials = { rootCertificate: connection.tls.ca };
    if (connection.tls.cert !== undefined && connection.tls.key !== undefined) {
      options.credentials.certChain = connection.tls.cert;
      options.credentials.privateKey = connection.tls.key;
    }
  }
  if (connection.auth !== undefined) options.auth = { username: connection.auth.username, password: connection.auth.password };
  return new Client(options);
}

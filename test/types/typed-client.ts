// Compile-time checks of the typed client, compiled with the rest of the
// project on every test run: each @ts-expect-error line must fail to
// compile, or the build (and so the test run) fails. Never executed; each
// case has its run-time twin in test/integration/typed-client.test.ts.
import { z } from 'zod';
import { connect } from '../../client/index.js';

const schema = z.object({
  server: z.object({ port: z.number(), host: z.string().default('localhost') }),
  dirs: z.array(z.string()),
  features: z.object({ beta: z.boolean() }).optional(),
  shell: z.string().optional(),
  plugins: z.record(z.string(), z.object({ enabled: z.boolean() })).default({}),
});

type Equal<A, B> = (<V>() => V extends A ? 1 : 2) extends <V>() => V extends B ? 1 : 2 ? true : false;
function expectType<T extends true>(): T | undefined {
  return undefined;
}

export async function typedClientCompiles(): Promise<void> {
  const client = connect({ schema });

  // Reads: the schema's output type; a missing path resolves undefined, so an optional path or an index says so.
  const port = await client.get('server.port');
  expectType<Equal<typeof port, number | undefined>>();
  const server = await client.get('server');
  expectType<Equal<typeof server, { port: number; host: string } | undefined>>();
  const dir = await client.get('dirs.0');
  expectType<Equal<typeof dir, string | undefined>>();
  const beta = await client.get('features.beta');
  expectType<Equal<typeof beta, boolean | undefined>>();
  const shell = await client.get('shell');
  expectType<Equal<typeof shell, string | undefined>>();
  const withDefault = await client.get('shell', { default: '/bin/sh' });
  expectType<Equal<typeof withDefault, string>>();
  const entry = await client.getEntry('server.host');
  expectType<Equal<typeof entry.value, string>>();
  const present: boolean = await client.has('features');
  void present;

  // Segment arrays: keys holding dots.
  const plugin = await client.get(['plugins', 'a.b', 'enabled']);
  expectType<Equal<typeof plugin, boolean | undefined>>();
  await client.set(['plugins', 'a.b'], { enabled: true });

  // Writes: the schema's input type (a field with a default may be left out).
  await client.set('server', { port: 1 });
  await client.set('server.port', 8080);
  await client.set('dirs', ['/srv']);
  await client.update('server.port', (current) => (current ?? 0) + 1);
  await client.batch([{ op: 'set', path: 'server.host', value: 'a' }, { op: 'delete', path: 'features' }]);
  await client.set('server.port', 1, { if: [{ path: 'server', modRevision: 3 }] });
  client.watch('server', { initial: 'none', prevValues: true }).close();
  const stop = client.onDidChange('server.port', (now, before) => {
    expectType<Equal<typeof now, number | undefined>>();
    expectType<Equal<typeof before, number | undefined>>();
  });
  stop();

  // @ts-expect-error a path the schema does not have
  await client.get('server.prot');
  // @ts-expect-error a string where the schema says number
  await client.set('server.port', '8080');
  // @ts-expect-error an array element of the wrong type
  await client.set('dirs.0', 1);
  // @ts-expect-error a whole object missing a field without a default
  await client.set('server', { host: 'x' });
  // @ts-expect-error update must return the path's type
  await client.update('server.host', () => 42);
  // @ts-expect-error batch paths are checked too
  await client.batch([{ op: 'delete', path: 'nowhere' }]);
  // @ts-expect-error batch values are typed by their path
  await client.batch([{ op: 'set', path: 'server.port', value: 'x' }]);
  // @ts-expect-error segment arrays are checked too
  await client.get(['server', 'prot']);
  // @ts-expect-error watching a path that does not exist
  client.watch('servers');
  // @ts-expect-error the value read is a number (or undefined), not a string
  const wrong: string = await client.get('server.port');
  void wrong;

  // Without a schema every path and value is accepted.
  const untyped = connect();
  await untyped.set('anything.at.all', { x: 1 });
  await untyped.set(['a', 'b.c'], 1);
  const value = await untyped.get('anything');
  expectType<Equal<typeof value, unknown>>();
  const segmentValue = await untyped.get(['a', 'b.c']);
  expectType<Equal<typeof segmentValue, unknown>>();
  await untyped.close();
  await using disposable = connect();
  void disposable;
}

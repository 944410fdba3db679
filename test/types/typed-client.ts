// Compile-time checks of the typed client, compiled with the rest of the
// project on every test run: each @ts-expect-error line must fail to
// compile, or the build (and so the test run) fails. Never executed.
import { z } from 'zod';
import { connect } from '../../client/index.js';

const schema = z.object({
  server: z.object({ port: z.number(), host: z.string() }),
  dirs: z.array(z.string()),
  features: z.object({ beta: z.boolean() }).optional(),
});

type Equal<A, B> = (<V>() => V extends A ? 1 : 2) extends <V>() => V extends B ? 1 : 2 ? true : false;
function expectType<T extends true>(): T | undefined {
  return undefined;
}

export async function typedClientCompiles(): Promise<void> {
  const client = connect({ schema });

  const port = await client.get('server.port');
  expectType<Equal<typeof port, number>>();
  const server = await client.get('server');
  expectType<Equal<typeof server, { port: number; host: string }>>();
  const dir = await client.get('dirs.0');
  expectType<Equal<typeof dir, string>>();
  const beta = await client.get('features.beta');
  expectType<Equal<typeof beta, boolean>>();
  const entry = await client.getEntry('server.host');
  expectType<Equal<typeof entry.value, string>>();

  await client.set('server.port', 8080);
  await client.set('dirs', ['/srv']);
  await client.update('server.port', (current) => (current ?? 0) + 1);
  await client.batch([{ op: 'set', path: 'server.host', value: 'a' }, { op: 'delete', path: 'features' }]);
  client.watch('server', { initial: 'none' }).close();

  // @ts-expect-error a path the schema does not have
  await client.get('server.prot');
  // @ts-expect-error a string where the schema says number
  await client.set('server.port', '8080');
  // @ts-expect-error an array element of the wrong type
  await client.set('dirs.0', 1);
  // @ts-expect-error a whole object missing a field
  await client.set('server', { port: 1 });
  // @ts-expect-error update must return the path's type
  await client.update('server.host', () => 42);
  // @ts-expect-error batch paths are checked too
  await client.batch([{ op: 'delete', path: 'nowhere' }]);
  // @ts-expect-error watching a path that does not exist
  client.watch('servers');
  // @ts-expect-error the value read is a number, not a string
  const wrong: string = await client.get('server.port');
  void wrong;

  // Without a schema every path and value is accepted.
  const untyped = connect();
  await untyped.set('anything.at.all', { x: 1 });
  const value = await untyped.get('anything');
  expectType<Equal<typeof value, unknown>>();
}

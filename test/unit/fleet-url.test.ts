// The fleet URL and flags: endpoints and prefix out of etcd://…/PREFIX/, and a
// clear error naming the flag for anything that cannot be used.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { FLEET_PASSWORD_ENV, resolveFleetConnection } from '../../sidecar/fleet/fleet-connection.js';
import { FleetConfigError, parseFleetUrl } from '../../sidecar/fleet/fleet-url.js';
import { testPaths } from '../helpers/temp-dir.js';

test('the URL path, leading slash included, is the key prefix; endpoints keep their order', () => {
  assert.deepEqual(parseFleetUrl('etcd://127.0.0.1:2379/apps/demo/'), { endpoints: ['127.0.0.1:2379'], prefix: '/apps/demo/' });
  assert.deepEqual(parseFleetUrl('etcd://e1:2379,e2,[::1]:2380/'), { endpoints: ['e1:2379', 'e2:2379', '[::1]:2380'], prefix: '/' });
  assert.deepEqual(parseFleetUrl('etcd://h:1/my%20app/'), { endpoints: ['h:1'], prefix: '/my app/' });
});

test('URLs that cannot be used are refused, saying what is wrong', () => {
  const cases: [string, RegExp][] = [
    ['http://h:2379/a/', /expected etcd:\/\//],
    ['etcd:///a/', /no etcd endpoint/],
    ['etcd://h:2379', /no key prefix/],
    ['etcd://h:2379/apps/demo', /must end with "\/"/],
    ['etcd://h:2379/apps//demo/', /empty segment/],
    ['etcd://h:99999/a/', /port out of range/],
    ['etcd://user:pw@h/a/', /credentials do not go in the URL/],
    ['etcd://h,/a/', /endpoint "" is not HOST/],
    ['etcd://h/a/?x=1', /no query/],
    ['etcd://h/%zz/', /broken %-escape/],
  ];
  for (const [url, message] of cases) {
    assert.throws(() => parseFleetUrl(url), (error: unknown) => error instanceof FleetConfigError && message.test(error.message) && error.message.includes(url), url);
  }
});

test('flags: TLS files and the password are read from files (or the environment), never from the command line', async (t) => {
  const { dir } = await testPaths(t);
  const file = (name: string, text: string) => writeFile(path.join(dir, name), text).then(() => path.join(dir, name));
  const ca = await file('ca.pem', 'CA');
  const cert = await file('c.pem', 'CERT');
  const key = await file('k.pem', 'KEY');
  const pw = await file('pw', 's3cret\n');

  assert.equal(await resolveFleetConnection({}), undefined);
  const full = await resolveFleetConnection({ fleet: 'etcd://h/a/', 'fleet-ca': ca, 'fleet-cert': cert, 'fleet-key': key, 'fleet-user': 'svc', 'fleet-password-file': pw });
  assert.equal(full?.tls?.ca.toString(), 'CA');
  assert.equal(full?.tls?.cert?.toString(), 'CERT');
  assert.equal(full?.tls?.key?.toString(), 'KEY');
  assert.deepEqual(full?.auth, { username: 'svc', password: 's3cret' });
  const fromEnv = await resolveFleetConnection({ fleet: 'etcd://h/a/', 'fleet-user': 'svc' }, { [FLEET_PASSWORD_ENV]: 'envpw' });
  assert.deepEqual(fromEnv?.auth, { username: 'svc', password: 'envpw' });

  const refused: [Parameters<typeof resolveFleetConnection>[0], RegExp][] = [
    [{ 'fleet-ca': ca }, /--fleet-ca needs --fleet/],
    [{ fleet: 'etcd://h/a/', 'fleet-cert': cert }, /--fleet-cert and --fleet-key go together/],
    [{ fleet: 'etcd://h/a/', 'fleet-cert': cert, 'fleet-key': key }, /--fleet-cert needs --fleet-ca/],
    [{ fleet: 'etcd://h/a/', 'fleet-ca': path.join(dir, 'missing.pem') }, /--fleet-ca .*missing\.pem: cannot read it/],
    [{ fleet: 'etcd://h/a/', 'fleet-user': 'svc' }, /needs a password/],
    [{ fleet: 'etcd://h/a/', 'fleet-password-file': pw }, /--fleet-password-file needs --fleet-user/],
  ];
  for (const [flags, message] of refused) {
    await assert.rejects(resolveFleetConnection(flags, {}), (error: unknown) => error instanceof FleetConfigError && message.test(error.message), JSON.stringify(flags));
  }
});

// A throwaway CA with a server certificate for 127.0.0.1 and a client
// certificate, made with openssl in a temp dir, for TLS tests against etcd.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { writeFile } from 'node:fs/promises';

export interface TestCertificates {
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

function openssl(args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('openssl', args, { cwd, timeout: 30_000 }, (error, _stdout, stderr) => {
      if (error === null) resolve();
      else reject(new Error(`openssl ${args[0]} failed: ${error.message}\n${stderr}`));
    });
  });
}

/** Why TLS tests skip here, or undefined when openssl is there. */
export async function certificatesSkipReason(): Promise<string | undefined> {
  return openssl(['version'], process.cwd()).then(
    () => undefined,
    (error: Error) => `openssl is needed to make test certificates: ${error.message}`,
  );
}

export async function makeCertificates(dir: string): Promise<TestCertificates> {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await openssl(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=config-sidecar test CA'], dir);
  for (const [name, usage, san] of [
    // etcd's own gateway dials its client port with the server certificate, so it needs clientAuth too.
    ['server', 'serverAuth,clientAuth', 'IP:127.0.0.1'],
    ['client', 'clientAuth', 'DNS:fleet-client'],
  ] as const) {
    await writeFile(path.join(dir, `${name}.ext`), `subjectAltName=${san}\nextendedKeyUsage=${usage}\n`);
    await openssl(['req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`], dir);
    await openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`], dir);
  }
  const at = (file: string) => path.join(dir, file);
  return { ca: at('ca.pem'), serverCert: at('server.pem'), serverKey: at('server.key'), clientCert: at('client.pem'), clientKey: at('client.key') };
}

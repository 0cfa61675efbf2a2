// A throw-away PKI for one local cluster, made with the openssl CLI: a CA, serving and client
// certificates, and the service-account signing key. ECDSA P-256 keys: fast to make, accepted by
// every Kubernetes component.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface KeyPair {
  certFile: string;
  keyFile: string;
}

export interface Pki {
  dir: string;
  ca: KeyPair;
  /** The service-account token signing key (private) and its public half. */
  serviceAccountKeyFile: string;
  serviceAccountPublicKeyFile: string;
  /** Issues a certificate signed by the CA. */
  issue(name: string, subject: CertSubject): KeyPair;
}

export interface CertSubject {
  commonName: string;
  organizations?: readonly string[];
  ipAddresses?: readonly string[];
  dnsNames?: readonly string[];
  usage: 'server' | 'client' | 'both';
}

const DAYS = '3650';

function openssl(args: readonly string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function newKey(keyFile: string): void {
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', keyFile]);
}

export function createPki(dir: string): Pki {
  mkdirSync(dir, { recursive: true });
  const ca: KeyPair = { certFile: join(dir, 'ca.crt'), keyFile: join(dir, 'ca.key') };
  newKey(ca.keyFile);
  openssl([
    'req',
    '-x509',
    '-new',
    '-key',
    ca.keyFile,
    '-out',
    ca.certFile,
    '-days',
    DAYS,
    '-subj',
    '/CN=etcd-snapshot-driver-local-ca',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
  ]);

  const serviceAccountKeyFile = join(dir, 'sa.key');
  const serviceAccountPublicKeyFile = join(dir, 'sa.pub');
  newKey(serviceAccountKeyFile);
  openssl(['pkey', '-in', serviceAccountKeyFile, '-pubout', '-out', serviceAccountPublicKeyFile]);

  let serial = 1;
  return {
    dir,
    ca,
    serviceAccountKeyFile,
    serviceAccountPublicKeyFile,
    issue(name, subject) {
      const pair: KeyPair = { certFile: join(dir, `${name}.crt`), keyFile: join(dir, `${name}.key`) };
      newKey(pair.keyFile);
      const extFile = join(dir, `${name}.ext`);
      const sans = [
        ...(subject.ipAddresses ?? []).map((ip) => `IP:${ip}`),
        ...(subject.dnsNames ?? []).map((dns) => `DNS:${dns}`),
      ];
      const eku = { server: 'serverAuth', client: 'clientAuth', both: 'serverAuth,clientAuth' }[
        subject.usage
      ];
      writeFileSync(
        extFile,
        [
          'basicConstraints=critical,CA:FALSE',
          'keyUsage=critical,digitalSignature,keyEncipherment',
          `extendedKeyUsage=${eku}`,
          ...(sans.length > 0 ? [`subjectAltName=${sans.join(',')}`] : []),
        ].join('\n'),
      );
      const subj = `/CN=${subject.commonName}${(subject.organizations ?? []).map((o) => `/O=${o}`).join('')}`;
      const csr = join(dir, `${name}.csr`);
      openssl(['req', '-new', '-key', pair.keyFile, '-out', csr, '-subj', subj]);
      openssl([
        'x509',
        '-req',
        '-in',
        csr,
        '-CA',
        ca.certFile,
        '-CAkey',
        ca.keyFile,
        '-out',
        pair.certFile,
        '-days',
        DAYS,
        '-set_serial',
        String(serial++),
        '-extfile',
        extFile,
      ]);
      return pair;
    },
  };
}

/** A kubeconfig file for a client certificate against one apiserver. */
export function writeKubeconfig(
  file: string,
  server: string,
  caFile: string,
  user: string,
  pair: KeyPair,
): void {
  const b64 = (f: string) => readFileSync(f).toString('base64');
  writeFileSync(
    file,
    `apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: ${server}
    certificate-authority-data: ${b64(caFile)}
users:
- name: ${user}
  user:
    client-certificate-data: ${b64(pair.certFile)}
    client-key-data: ${b64(pair.keyFile)}
contexts:
- name: local
  context:
    cluster: local
    user: ${user}
current-context: local
`,
    { mode: 0o600 },
  );
}

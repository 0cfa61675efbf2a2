// TLS failures as grpc-js reports them (texts captured from Node 24 + grpc-js 1.14) → messages
// that name the member, the Secret and what did not verify, never Node's hints about its flags.
import { describe, expect, it } from 'vitest';
import { cleanTlsDetail, describeTlsFailure, type TlsContext } from '../../../src/etcd/client/tls-failure.ts';

const EP = 'https://10.0.0.5:2379?tls-server-name=demo-0.demo.etcd.svc';
const SECRET: TlsContext = { source: 'Secret etcd/demo-tls', hasCa: true, hasClientCert: true };
const framed = (error: string) =>
  `No connection established. Last error: ${error} (2026-12-02T06:10:01.123Z). Resolution note: `;

describe('describeTlsFailure', () => {
  it('a server certificate of another CA names the member and the Secret’s ca.crt', () => {
    const text = framed(
      'Error: unable to verify the first certificate; if the root CA is installed locally, try running Node.js with --use-system-ca',
    );
    expect(describeTlsFailure(text, EP, SECRET)).toBe(
      'server certificate of etcd member demo-0.demo.etcd.svc (10.0.0.5:2379) is not signed by ca.crt of Secret etcd/demo-tls',
    );
  });

  it('without a ca.crt it says so', () => {
    const text = framed('Error: unable to get local issuer certificate');
    expect(describeTlsFailure(text, EP, { ...SECRET, hasCa: false })).toMatch(
      /is not signed by a CA the driver trusts \(Secret etcd\/demo-tls has no ca\.crt/,
    );
  });

  it.each([
    ['Error: self-signed certificate', 'is self-signed, not issued by ca.crt of Secret etcd/demo-tls'],
    [
      'Error: self-signed certificate in certificate chain',
      'chains to a CA that is not ca.crt of Secret etcd/demo-tls',
    ],
    ['Error: certificate has expired', '(or its CA) has expired'],
    ['Error: certificate is not yet valid', 'is not valid yet'],
  ])('%s', (error, expected) => {
    const message = describeTlsFailure(framed(error), EP, SECRET);
    expect(message).toContain('server certificate of etcd member demo-0.demo.etcd.svc');
    expect(message).toContain(expected);
  });

  it('a name mismatch from the driver’s own check lists what the certificate names', () => {
    const text = framed(
      'Error: server certificate does not name 10.0.0.5 [names: DNS:demo-0.demo.etcd.svc, DNS:demo-0.demo]',
    );
    expect(describeTlsFailure(text, 'https://10.0.0.5:2379', SECRET)).toBe(
      'server certificate of etcd member 10.0.0.5:2379 does not name 10.0.0.5; it names DNS:demo-0.demo.etcd.svc, DNS:demo-0.demo (give the endpoint as a DNS name the certificate carries, or issue it for the IP)',
    );
  });

  it('Node’s own name mismatch (ERR_TLS_CERT_ALTNAME_INVALID) is still recognised', () => {
    const text = framed(
      "Error [ERR_TLS_CERT_ALTNAME_INVALID]: Hostname/IP does not match certificate's altnames: Host: demo-1.demo.etcd.svc. is not in the cert's altnames: DNS:demo-0.demo.etcd.svc",
    );
    expect(describeTlsFailure(text, EP, SECRET)).toMatch(
      /does not name the host the driver checks: Host: demo-1/,
    );
  });

  it('a refused client certificate names the Secret’s tls.crt', () => {
    const text = framed('Error: 4C1B0000:error:0A000418:SSL routines:ssl3_read_bytes:tlsv1 alert unknown ca');
    expect(describeTlsFailure(text, EP, SECRET)).toBe(
      'etcd member demo-0.demo.etcd.svc refused the client certificate tls.crt of Secret etcd/demo-tls: TLS alert "unknown ca"',
    );
  });

  it('is undefined for failures that are not about certificates', () => {
    expect(
      describeTlsFailure(framed('Error: connect ECONNREFUSED 10.0.0.5:2379'), EP, SECRET),
    ).toBeUndefined();
  });

  it('no output keeps Node’s flag hint or grpc-js framing, and all is bounded', () => {
    const cleaned = cleanTlsDetail(
      framed(
        `Error: weird TLS thing ${'x'.repeat(2000)}; if the root CA is installed locally, try running Node.js with --use-system-ca`,
      ),
    );
    expect(cleaned).not.toMatch(/use-system-ca|Resolution note|No connection established/);
    expect(cleaned.length).toBeLessThanOrEqual(300);
  });
});

// A refused TLS handshake → a sentence a user can act on: which member, which Secret, what did
// not verify. grpc-js hands the failure over as text ("No connection established. Last error:
// Error: unable to verify the first certificate; if the root CA is installed locally, try running
// Node.js with --use-system-ca …"); the texts are OpenSSL's verify messages and Node's TLS
// errors, stable across releases. Node's hints about its own flags never reach a user: nobody
// who runs the driver can pass them.
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import { memberOf, parseEndpoint } from './endpoint.ts';

/** What the client presented and trusted: named in messages, never the bytes. */
export interface TlsContext {
  /** Where the credentials came from ("Secret etcd/demo-tls"); absent without credentials. */
  source?: string;
  /** Where the CA came from when not the source's ca.crt ("bundle.crt of Secret etcd/demo-ca"). */
  caSource?: string;
  hasCa: boolean;
  hasClientCert: boolean;
}

// Marks the message of our own server-identity check, so the text that comes back through grpc-js is recognised.
const NAME_MISMATCH = 'server certificate does not name';
const MAX_NAMES = 240;
const MAX_DETAIL = 300;

/**
 * Node's check, with an error that lists what the certificate does name (Node's own lists only
 * the IP addresses when the host is an IP, which hides the DNS names that would have matched).
 */
export function checkServerName(host: string, cert: PeerCertificate): Error | undefined {
  const failed = checkServerIdentity(host, cert);
  if (!failed) return undefined;
  const names = (cert.subjectaltname ?? '').slice(0, MAX_NAMES) || `only CN=${cert.subject?.CN ?? '(none)'}`;
  return Object.assign(new Error(`${NAME_MISMATCH} ${host} [names: ${names}]`), {
    code: 'ERR_TLS_CERT_ALTNAME_INVALID',
  });
}

function trustedCa(ctx: TlsContext): string {
  if (ctx.hasCa) return ctx.caSource ?? `ca.crt of ${ctx.source ?? 'the credentials'}`;
  return ctx.source
    ? `a CA the driver trusts (${ctx.source} has no ca.crt: add the CA that issued the members' certificates)`
    : 'a CA the driver trusts (no credentials Secret: name one with a ca.crt)';
}

function clientCert(ctx: TlsContext): string {
  if (!ctx.hasClientCert)
    return `no client certificate (${ctx.source ?? 'no credentials Secret'} has no tls.crt)`;
  return `the client certificate tls.crt of ${ctx.source ?? 'the credentials'}`;
}

/** The failure without grpc-js's framing, Node's flag hints and timestamps, bounded. */
export function cleanTlsDetail(details: string): string {
  return details
    .replace(/^No connection established\. Last error: /, '')
    .replace(/^(?:Error(?: \[[A-Z_]+\])?: )+/, '')
    .replace(/;?\s*if the root CA is installed locally,? try running Node\.js with --use-system-ca\.?/gi, '')
    .replace(/\s*Resolution note:.*$/s, '')
    .replace(/\s*\(\d{4}-\d\d-\d\dT[\d:.]+Z\)/g, '')
    .trim()
    .slice(0, MAX_DETAIL);
}

/** The message for a TLS failure at `endpoint`, or undefined when `details` is not one. */
export function describeTlsFailure(details: string, endpoint: string, ctx: TlsContext): string | undefined {
  const member = memberOf(endpoint);
  let address = endpoint;
  try {
    address = parseEndpoint(endpoint).target;
  } catch {}
  const server = `server certificate of etcd member ${member}${member === address ? '' : ` (${address})`}`;
  const text = cleanTlsDetail(details);
  const mismatch = new RegExp(`${NAME_MISMATCH} (\\S+) \\[names: ([^\\]]*)\\]`).exec(text);
  if (mismatch) {
    const dialedByIp = /^[\d.]+$|:/.test(mismatch[1] ?? '');
    return `${server} does not name ${mismatch[1]}; it names ${mismatch[2]}${
      dialedByIp ? ' (give the endpoint as a DNS name the certificate carries, or issue it for the IP)' : ''
    }`;
  }
  if (/Hostname\/IP does not match|ERR_TLS_CERT_ALTNAME_INVALID/i.test(text)) {
    return `${server} does not name the host the driver checks: ${text.replace(/^.*?altnames: /, '')}`;
  }
  if (/self[- ]signed certificate in certificate chain/i.test(text)) {
    return `${server} chains to a CA that is not ${trustedCa(ctx)}`;
  }
  if (/self[- ]signed certificate/i.test(text)) {
    return `${server} is self-signed, not issued by ${trustedCa(ctx)}`;
  }
  if (
    /unable to (?:verify the first certificate|get (?:local )?issuer certificate)|certificate signature failure/i.test(
      text,
    )
  ) {
    return `${server} is not signed by ${trustedCa(ctx)}`;
  }
  if (/certificate has expired/i.test(text)) return `${server} (or its CA) has expired`;
  if (/certificate is not yet valid/i.test(text)) {
    return `${server} is not valid yet (is a clock wrong?)`;
  }
  const alert =
    /alert (unknown ca|bad certificate|certificate required|certificate unknown|certificate expired|certificate revoked|unsupported certificate|access denied)/i.exec(
      text,
    );
  if (alert) {
    return `etcd member ${member} refused ${clientCert(ctx)}: TLS alert "${alert[1]}"`;
  }
  if (/wrong version number|packet length too long|http request/i.test(text)) {
    return `etcd member ${member} does not speak TLS on ${address} (use an http:// endpoint, or turn client TLS on): ${text}`;
  }
  return undefined;
}

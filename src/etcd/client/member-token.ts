// etcd's simple-auth token for one member (tokens are member-local): fetched on first use, shared
// by the calls that wait for it, fetched again after a failure or when a call finds it expired
// (forget). Without a user there is no token; a cluster that has authentication off answers
// Authenticate with FAILED_PRECONDITION, and then the calls go on without one.
import { status } from '@grpc/grpc-js';
import type { EtcdCredentials } from '../credentials.ts';
import { EtcdError } from '../errors.ts';
import type { EtcdCallOptions } from './etcd-client.ts';

export type Authenticate = (
  request: { name: string; password: string },
  options: EtcdCallOptions,
) => Promise<{ token: string }>;

export class MemberToken {
  readonly #endpoint: string;
  readonly #credentials: EtcdCredentials;
  readonly #authenticate: Authenticate;
  #pending: Promise<string | undefined> | undefined;

  constructor(endpoint: string, credentials: EtcdCredentials, authenticate: Authenticate) {
    this.#endpoint = endpoint;
    this.#credentials = credentials;
    this.#authenticate = authenticate;
  }

  get(options: EtcdCallOptions): Promise<string | undefined> {
    if (this.#credentials.kind !== 'basic') return Promise.resolve(undefined);
    this.#pending ??= this.#fetch(options).catch((err: unknown) => {
      this.#pending = undefined; // the next call tries again
      throw err;
    });
    return this.#pending;
  }

  /** The member refused the token (expired, or the member restarted): the next get fetches one. */
  forget(): void {
    this.#pending = undefined;
  }

  async #fetch(options: EtcdCallOptions): Promise<string | undefined> {
    const creds = this.#credentials;
    if (creds.kind !== 'basic') return undefined;
    try {
      return (await this.#authenticate({ name: creds.username, password: creds.password }, options)).token;
    } catch (err) {
      if (
        err instanceof EtcdError &&
        err.grpcCode === status.FAILED_PRECONDITION &&
        /authentication is not enabled/i.test(err.message)
      ) {
        return undefined;
      }
      if (err instanceof EtcdError && err.reason === 'AUTH_BASIC_INVALID') {
        throw new EtcdError(
          'AUTH_BASIC_INVALID',
          `etcd at ${this.#endpoint} rejected user "${creds.username}": wrong user name or password`,
          { endpoint: this.#endpoint, grpcCode: err.grpcCode },
        );
      }
      throw err;
    }
  }
}

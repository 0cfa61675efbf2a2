// Hashes the bytes of `agent save` as they pass through its write ring: the file's SHA-256 and
// etcd's trailer check (trailer-hash.ts), either on a worker thread (the default: measured, the
// hashing was the largest share of the save's busy main thread, bench/README.md) or inline
// (tests, and a fallback). Ranges are hashed in the order given; each update settles once its
// range has been read, so the ring slot can be refilled.
import { Worker } from 'node:worker_threads';
import type { HashRequest } from './hash-worker.ts';
import { type TrailerCheck, TrailerHasher } from './trailer-hash.ts';

export interface RangeHasher {
  update(offset: number, length: number): Promise<void>;
  finish(): Promise<TrailerCheck>;
  close(): void;
}

export function inlineHasher(ring: SharedArrayBuffer): RangeHasher {
  const hasher = new TrailerHasher();
  return {
    async update(offset, length) {
      hasher.update(Buffer.from(ring, offset, length));
    },
    async finish() {
      return hasher.finish();
    },
    close() {},
  };
}

// dist/ holds the compiled .js beside this file; a checkout runs the .ts itself.
const WORKER_URL = new URL(
  import.meta.url.endsWith('.ts') ? './hash-worker.ts' : './hash-worker.js',
  import.meta.url,
);

export function workerHasher(ring: SharedArrayBuffer): RangeHasher {
  const worker = new Worker(WORKER_URL, { workerData: { ring } });
  // The FIFO of answers the worker owes: it answers every request, in order.
  const waiting: { resolve: (value: unknown) => void; reject: (err: Error) => void }[] = [];
  let failure: Error | undefined;
  const fail = (err: Error) => {
    failure ??= err;
    for (const w of waiting.splice(0)) w.reject(failure);
  };
  worker.on('message', (answer: { kind: string; check?: TrailerCheck }) => {
    waiting.shift()?.resolve(answer.check);
  });
  worker.on('error', fail);
  worker.on('exit', (code) => fail(new Error(`the hashing thread exited (code ${code})`)));
  const ask = <T>(request: HashRequest): Promise<T> => {
    if (failure) return Promise.reject(failure);
    return new Promise<T>((resolve, reject) => {
      waiting.push({ resolve: resolve as (value: unknown) => void, reject });
      worker.postMessage(request);
    });
  };
  return {
    update: (offset, length) => ask<void>({ kind: 'update', offset, length }),
    finish: () => ask<TrailerCheck>({ kind: 'finish' }),
    close() {
      failure ??= new Error('the hashing thread was closed');
      void worker.terminate();
    },
  };
}

// The hashing thread of `agent save` (range-hasher.ts starts it): SHA-256 and etcd's trailer
// check over the ranges of the shared write ring the main thread hands over, in order, so that
// hashing runs beside the stream's receive and write instead of on the same thread.
import { parentPort, workerData } from 'node:worker_threads';
import { TrailerHasher } from './trailer-hash.ts';

export type HashRequest = { kind: 'update'; offset: number; length: number } | { kind: 'finish' };

const ring = (workerData as { ring: SharedArrayBuffer }).ring;
const hasher = new TrailerHasher();

parentPort?.on('message', (request: HashRequest) => {
  if (request.kind === 'update') {
    hasher.update(Buffer.from(ring, request.offset, request.length));
    parentPort?.postMessage({ kind: 'hashed' });
  } else {
    parentPort?.postMessage({ kind: 'finished', check: hasher.finish() });
  }
});

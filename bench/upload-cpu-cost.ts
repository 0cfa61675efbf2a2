// Where `agent upload`'s CPU goes (bench/README.md, "Off-cluster copies"): each stage of its
// streaming pass run alone over one saved snapshot file, with the process's CPU time (all threads:
// zlib works on libuv's pool) next to the wall time. CPU time is what the stage costs; on the
// shared, loaded machine the wall time says more about the other processes than about the stage.
//   BENCH_FILE=/path/to/snapshot.db node bench/upload-cpu-cost.ts
// (any file `agent save` wrote, or a slice of one: the stages do not parse it.)
import { randomBytes } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { TrailerHasher } from '../src/agent/trailer-hash.ts';
import { compressor, HashTap } from '../src/objectstore/codec.ts';
import { DEFAULT_CHUNK_BYTES, EncryptStream } from '../src/objectstore/encryption.ts';

const FILE = process.env.BENCH_FILE;
if (!FILE) throw new Error('set BENCH_FILE to a saved snapshot file');
const MIB = statSync(FILE).size / 1024 / 1024;

type Stage = () => NodeJS.ReadWriteStream[];

const plainHash = (): NodeJS.ReadWriteStream[] => {
  const hasher = new TrailerHasher();
  return [new HashTap({ hash: false, onChunk: (c) => hasher.update(c) })];
};

const STAGES: [string, Stage][] = [
  ['read only', () => []],
  ['read + plain SHA-256 and trailer (the plain upload)', plainHash],
  ['  + zstd level 1 (default)', () => [...plainHash(), compressor('zstd', 1), new HashTap()]],
  ['  + zstd level 3 (the default before)', () => [...plainHash(), compressor('zstd', 3), new HashTap()]],
  ['  + zstd level 6', () => [...plainHash(), compressor('zstd', 6), new HashTap()]],
  ['  + gzip level 1', () => [...plainHash(), compressor('gzip', 1), new HashTap()]],
  ['  + gzip level 6 (default)', () => [...plainHash(), compressor('gzip', 6), new HashTap()]],
  [
    '  + zstd level 3 + AES-256-GCM',
    () => [
      ...plainHash(),
      compressor('zstd', 3),
      new EncryptStream(randomBytes(32), DEFAULT_CHUNK_BYTES),
      new HashTap(),
    ],
  ],
];

async function run(stages: NodeJS.ReadWriteStream[]): Promise<{ wall: number; cpu: number; out: number }> {
  let out = 0;
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      out += chunk.length;
      done();
    },
  });
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await pipeline([createReadStream(FILE as string, { highWaterMark: 1024 * 1024 }), ...stages, sink]);
  const cpu = process.cpuUsage(cpu0);
  return { wall: (performance.now() - t0) / 1000, cpu: (cpu.user + cpu.system) / 1e6, out };
}

console.log(`${FILE}: ${MIB.toFixed(0)} MiB`);
await run([]); // the file into the page cache: every stage reads it from memory
for (const [name, stage] of STAGES) {
  const r = await run(stage());
  console.log(
    `${name.padEnd(52)} CPU ${r.cpu.toFixed(2)} s (${((r.cpu * 1024) / MIB).toFixed(1)} s/GiB, ${(MIB / r.cpu).toFixed(0)} MiB/s of CPU)` +
      `  wall ${r.wall.toFixed(2)} s  out ${(r.out / 1024 / 1024).toFixed(0)} MiB (ratio ${(MIB / (r.out / 1024 / 1024)).toFixed(2)})`,
  );
}

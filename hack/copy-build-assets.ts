// `npm run build` step two: tsc emits only JavaScript, but the driver also loads files beside its
// modules at run time (the .proto files of the CSI and etcd APIs). Copies every such file from
// src/ to the same place under the output directory (default dist/, or the first argument).
import { cpSync, readdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

const ASSET = /\.proto$/;
const root = resolve(import.meta.dirname, '..');
const src = join(root, 'src');
const out = resolve(root, process.argv[2] ?? 'dist');

let copied = 0;
for (const entry of readdirSync(src, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || !ASSET.test(entry.name)) continue;
  const from = join(entry.parentPath, entry.name);
  cpSync(from, join(out, relative(src, from)));
  copied++;
}
process.stdout.write(`copied ${copied} run-time asset file(s) into ${relative(root, out) || '.'}\n`);

// Every local cluster owns a loopback /16 (127.<20+slot>.0.0/16): its control plane listens on
// .0.1 with the standard ports, its pods get addresses from the rest. Clusters in parallel test
// files therefore never share an address or a port. Slots are claimed with an atomic mkdir and
// reclaimed when the process that held one is gone.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SLOTS = 200;
const FIRST_OCTET = 20;

export interface ClusterSlot {
  index: number;
  /** The first two octets, e.g. "127.21". */
  subnet: string;
  /** The control plane's and the node's address, e.g. "127.21.0.1". */
  hostIP: string;
  release(): void;
}

function slotsDir(): string {
  return join(tmpdir(), 'etcd-snapshot-driver-slots');
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function claimSlot(): ClusterSlot {
  mkdirSync(slotsDir(), { recursive: true });
  for (let index = 1; index <= SLOTS; index++) {
    const dir = join(slotsDir(), String(index));
    try {
      mkdirSync(dir);
    } catch {
      let owner = Number.NaN;
      try {
        owner = Number(readFileSync(join(dir, 'owner'), 'utf8'));
      } catch {
        // Being created right now by someone else, or half-made by a crash: leave it.
        continue;
      }
      if (alive(owner)) continue;
      // Its owner died; its processes died with it (pdeathsig). Take it over.
      rmSync(dir, { recursive: true, force: true });
      try {
        mkdirSync(dir);
      } catch {
        continue;
      }
    }
    writeFileSync(join(dir, 'owner'), String(process.pid));
    const subnet = `127.${FIRST_OCTET + index}`;
    return {
      index,
      subnet,
      hostIP: `${subnet}.0.1`,
      release: () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  throw new Error(`all ${SLOTS} local cluster slots are taken (see ${slotsDir()})`);
}

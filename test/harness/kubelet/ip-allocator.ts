// Pod IPs from the node's loopback /16: 127.S.<1..254>.<1..254>. Linux routes all of 127/8 to lo,
// so every pod can bind its own address without any network setup; 127.S.0.x stays the control
// plane's. Next-fit allocation, so a just-released address is not handed out again at once (a
// client may still be talking to the old pod there).

export class IpAllocator {
  readonly #subnet: string;
  readonly #byUid = new Map<string, string>();
  readonly #used = new Set<string>();
  #cursor = 0;

  constructor(subnet: string) {
    this.#subnet = subnet;
  }

  /**
   * The pod's address: the one it already has, else `preferred` (the podIP its status already
   * carries, after a kubelet restart) when free and in range, else the next free one.
   */
  allocate(uid: string, preferred?: string): string {
    const existing = this.#byUid.get(uid);
    if (existing) return existing;
    if (preferred && this.inRange(preferred) && !this.#used.has(preferred)) return this.#take(uid, preferred);
    for (let i = 0; i < CAPACITY; i++) {
      const index = (this.#cursor + i) % CAPACITY;
      const ip = this.#address(index);
      if (!this.#used.has(ip)) {
        this.#cursor = (index + 1) % CAPACITY;
        return this.#take(uid, ip);
      }
    }
    throw new Error(`no free pod IP left in ${this.#subnet}.0.0/16`);
  }

  release(uid: string): void {
    const ip = this.#byUid.get(uid);
    if (ip === undefined) return;
    this.#byUid.delete(uid);
    this.#used.delete(ip);
  }

  get(uid: string): string | undefined {
    return this.#byUid.get(uid);
  }

  inRange(ip: string): boolean {
    const parts = ip.split('.');
    if (parts.length !== 4 || `${parts[0]}.${parts[1]}` !== this.#subnet) return false;
    const third = Number(parts[2]);
    const fourth = Number(parts[3]);
    return third >= 1 && third <= 254 && fourth >= 1 && fourth <= 254;
  }

  #take(uid: string, ip: string): string {
    this.#byUid.set(uid, ip);
    this.#used.add(ip);
    return ip;
  }

  #address(index: number): string {
    return `${this.#subnet}.${Math.floor(index / 254) + 1}.${(index % 254) + 1}`;
  }
}

const CAPACITY = 254 * 254;

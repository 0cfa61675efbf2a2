// Kubernetes resource quantities ("500m", "1Gi", "2e3") as plain numbers, enough for the downward
// API's resourceFieldRef and the node's capacity. Not exact beyond 2^53; nothing here needs it.

const SUFFIXES: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

export function parseQuantity(quantity: string): number {
  const match = /^([+-]?[0-9.]+)(?:([eE][+-]?[0-9]+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?)$/.exec(
    quantity.trim(),
  );
  if (!match) throw new Error(`invalid quantity "${quantity}"`);
  const number = Number(match[1]);
  if (match[2] !== undefined) return Number(`${match[1]}${match[2]}`);
  return number * (SUFFIXES[match[3] ?? ''] ?? 1);
}

// The driver's /metrics read as a scraper reads it: Prometheus text exposition → samples, and the
// exposition line of each sample kept, so a test can hand the real series to promtool.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
  /** `name{labels}` exactly as exported (a promtool input_series selector). */
  series: string;
}

export interface Scrape {
  text: string;
  /** The samples of `name` whose labels include `match`. */
  get(name: string, match?: Record<string, string>): Sample[];
}

export function parseExposition(text: string): Scrape {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?) (\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[l[1]!] = l[2]!;
    samples.push({ name: m[2]!, labels, value: Number(m[4]), series: m[1]! });
  }
  return {
    text,
    get: (name, match = {}) =>
      samples.filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v)),
  };
}

export async function scrapeMetrics(address: string): Promise<Scrape> {
  const res = await fetch(`http://${address}/metrics`);
  if (res.status !== 200) throw new Error(`GET http://${address}/metrics answered ${res.status}`);
  return parseExposition(await res.text());
}

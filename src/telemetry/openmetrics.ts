// The OpenMetrics text format (application/openmetrics-text; version=1.0.0), rendered from the
// registry's JSON. prom-client can render it too, but only by switching the registry's content
// type, and doing so renames counters in place (it strips `_total` from the metric object), which
// would corrupt the next Prometheus-format scrape; rendering from getMetricsAsJSON() changes
// nothing, so both formats can be served from the one registry.
import type { Registry } from 'prom-client';

export const OPENMETRICS_CONTENT_TYPE = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

interface Sample {
  value: number;
  labels: Record<string, string | number | undefined>;
  metricName?: string;
}

interface Family {
  name: string;
  help: string;
  type: string;
  values: Sample[];
}

export async function renderOpenMetrics(registry: Registry): Promise<string> {
  const families = (await registry.getMetricsAsJSON()) as unknown as Family[];
  const lines: string[] = [];
  for (const family of families) {
    // OpenMetrics names a counter family without `_total`; its samples carry it.
    const isCounter = family.type === 'counter';
    const familyName = isCounter ? family.name.replace(/_total$/, '') : family.name;
    lines.push(`# TYPE ${familyName} ${family.type}`);
    lines.push(`# HELP ${familyName} ${escapeHelp(family.help)}`);
    for (const sample of family.values) {
      const name = isCounter ? `${familyName}_total` : (sample.metricName ?? family.name);
      lines.push(`${name}${formatLabels(sample.labels)} ${formatValue(sample.value)}`);
    }
  }
  lines.push('# EOF');
  return `${lines.join('\n')}\n`;
}

function formatLabels(labels: Sample['labels']): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(labels)) {
    if (v === undefined) continue;
    parts.push(`${k}="${escapeLabel(typeof v === 'number' ? formatValue(v) : v)}"`);
  }
  return parts.length > 0 ? `{${parts.join(',')}}` : '';
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Number.POSITIVE_INFINITY) return '+Inf';
  if (v === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(v);
}

function escapeLabel(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function escapeHelp(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

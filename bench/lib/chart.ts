/**
 * The bench's chart: a self-contained SVG drawn from a results JSON (no browser, no dependency), three
 * panels of horizontal bars, one row pair per scenario with the gateway beside the stock Apollo BFF:
 * req/s at saturation, p99 at the fixed rate, peak RSS under load. Re-render any results file with
 * `node dist/bench/chart.js bench/results/<name>.json`.
 */

/** The parts of a results file the chart reads (older files lack some; those rows are left out). */
export interface ChartInput {
  date: string;
  pinning?: string;
  hardware?: { cpu: string; cores: number; node: string };
  settings: {
    rate: number;
    aliasRate?: number;
    latencyMs: number;
    connections: number;
    durationSec: number;
    realistic?: { callers: number; latencyMs: number; connections: number; rate: number };
  };
  scenarios: Record<
    string,
    {
      saturation: { reqPerSec: number };
      fixedRate: { p99Ms: number };
      rss?: { peakUnderLoadMb: number };
      upstream?: { callsPerOp: number };
      gc?: { fixedRate?: { allocatedKbPerOp: number } };
    }
  >;
}

interface Row {
  label: string;
  gateway?: string;
  stock?: string;
  floor?: string;
  /** Its own fixed rate, said in its label on the latency panel. */
  ownRate?: (settings: ChartInput['settings']) => number | undefined;
  /** Its label from the settings (the realistic traffic's callers and latency). */
  describe?: (settings: ChartInput['settings']) => string | undefined;
}

const ROWS: Row[] = [
  { label: 'supportProfile', gateway: 'gateway', stock: 'baseline' },
  { label: 'updateCustomerUser', gateway: 'mutation', stock: 'mutation-baseline' },
  { label: '25 aliased externalUserProfile', gateway: 'aliases-gateway', stock: 'aliases-baseline', ownRate: (s) => s.aliasRate },
  {
    label: 'realistic',
    gateway: 'realistic',
    stock: 'realistic-baseline',
    ownRate: (s) => s.realistic?.rate,
    describe: (s) => (s.realistic ? `${s.realistic.callers} callers, ${s.realistic.latencyMs} ms` : undefined),
  },
  { label: 'REST floor (emulator direct)', floor: 'floor' },
];

const COLORS = { gateway: '#2563eb', stock: '#ea580c', floor: '#6b7280' } as const;
const NAMES = { gateway: 'gateway', stock: 'stock Apollo BFF', floor: 'REST floor' } as const;

type Scenario = ChartInput['scenarios'][string];
interface Panel {
  title: string;
  unit: string;
  value: (s: Scenario) => number | undefined;
  digits: number;
  /** The latency panel names a row's own rate. */
  rates?: boolean;
}

const esc = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function fmt(value: number, digits: number): string {
  return value >= 1000 ? Math.round(value).toLocaleString('en-US') : value.toFixed(digits);
}

/** A "nice" axis maximum ≥ value: 1, 2, 2.5, 5 × 10^n. */
function niceMax(value: number): number {
  if (value <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(value));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= value) return m * p;
  return 10 * p;
}

export function renderChart(report: ChartInput): string {
  const panels: Panel[] = [
    { title: 'Throughput at saturation, req/s (higher is better)', unit: 'req/s', value: (s) => s.saturation.reqPerSec, digits: 0 },
    { title: `p99 latency at a fixed ${report.settings.rate} req/s, ms (lower is better)`, unit: 'ms', value: (s) => s.fixedRate.p99Ms, digits: 1, rates: true },
    { title: 'Peak RSS under load, MB (lower is better)', unit: 'MB', value: (s) => s.rss?.peakUnderLoadMb, digits: 0 },
  ];
  const rows = ROWS.filter((r) => [r.gateway, r.stock, r.floor].some((id) => id && report.scenarios[id]));
  const width = 860;
  const labelW = 280;
  const plotW = width - labelW - 90;
  const barH = 15;
  const rowGap = 10;
  const top = 74;
  const out: string[] = [];
  let y = top;
  const bars = (row: Row) =>
    (['gateway', 'stock', 'floor'] as const).flatMap((kind) => {
      const id = row[kind];
      const s = id ? report.scenarios[id] : undefined;
      return s ? [{ kind, s }] : [];
    });

  for (const panel of panels) {
    const values = rows.flatMap((r) => bars(r).map((b) => panel.value(b.s) ?? 0));
    const max = niceMax(Math.max(0, ...values));
    out.push(`<text x="16" y="${y + 14}" class="panel">${esc(panel.title)}</text>`);
    y += 26;
    const panelTop = y;
    for (const row of rows) {
      const b = bars(row);
      const rowH = b.length * barH + (b.length - 1) * 2;
      const described = row.describe?.(report.settings);
      const base = described ? `${row.label}: ${described}` : row.label;
      const ownRate = row.ownRate?.(report.settings);
      const label = panel.rates && ownRate ? `${base} (@${ownRate}/s)` : base;
      out.push(`<text x="${labelW - 10}" y="${y + rowH / 2 + 4}" class="label" text-anchor="end">${esc(label)}</text>`);
      for (const { kind, s } of b) {
        const v = panel.value(s);
        const w = v === undefined ? 0 : Math.max(1, (v / max) * plotW);
        out.push(`<rect x="${labelW}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${COLORS[kind]}"><title>${esc(`${NAMES[kind]}: ${v ?? '–'} ${panel.unit}`)}</title></rect>`);
        out.push(`<text x="${(labelW + w + 5).toFixed(1)}" y="${y + barH - 3}" class="value">${v === undefined ? '–' : fmt(v, panel.digits)}</text>`);
        y += barH + 2;
      }
      y += rowGap - 2;
    }
    // Axis: a baseline and the maximum.
    out.push(`<line x1="${labelW}" y1="${panelTop - 4}" x2="${labelW}" y2="${y - rowGap + 4}" class="axis"/>`);
    out.push(`<text x="${labelW + plotW}" y="${panelTop - 8}" class="tick" text-anchor="end">${fmt(max, panel.digits)} ${esc(panel.unit)}</text>`);
    y += 14;
  }

  const hw = report.hardware ? `${report.hardware.cpu}, ${report.hardware.cores} cores, Node ${report.hardware.node}` : '';
  const sub = [
    hw,
    `upstream latency ${report.settings.latencyMs} ms`,
    `${report.settings.connections} connections × ${report.settings.durationSec} s`,
  ]
    .filter(Boolean)
    .join(' · ');
  const legendX = width - 16;
  const legend = (['gateway', 'stock', 'floor'] as const)
    .map((kind, i) => {
      const x = legendX - (3 - i) * 130;
      return `<rect x="${x}" y="${top - 22}" width="12" height="12" fill="${COLORS[kind]}"/><text x="${x + 17}" y="${top - 12}" class="label">${NAMES[kind]}</text>`;
    })
    .join('');
  const height = y + 10;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif">`,
    '<style>.title{font-size:16px;font-weight:600;fill:#111}.sub{font-size:11px;fill:#555}.panel{font-size:13px;font-weight:600;fill:#222}.label{font-size:12px;fill:#222}.value{font-size:11px;fill:#222}.tick{font-size:10px;fill:#777}.axis{stroke:#999;stroke-width:1}</style>',
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="16" y="24" class="title">${esc(`Gateway vs stock Apollo BFF, ${report.date}`)}</text>`,
    `<text x="16" y="41" class="sub">${esc(sub)}</text>`,
    `<text x="16" y="55" class="sub">${esc(report.pinning ?? 'pinning not recorded')}</text>`,
    legend,
    ...out,
    '</svg>',
    '',
  ].join('\n');
}

// The chart `durable compare` writes: throughput and median latency by client count, one line per
// configuration (in the spirit of the thesis's Figures IV.3 and IV.6). Plain SVG, no dependencies.

export interface Series {
  name: string;
  points: { clients: number; throughput: number; p50: number }[];
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];
const W = 460;
const H = 300;
const M = { left: 64, right: 16, top: 34, bottom: 44 };

export function renderChart(title: string, series: Series[]): string {
  const panel = (x: number, label: string, value: (p: Series['points'][number]) => number) => {
    const clients = [...new Set(series.flatMap((s) => s.points.map((p) => p.clients)))].sort((a, b) => a - b);
    const max = Math.max(1e-9, ...series.flatMap((s) => s.points.map(value))) * 1.1;
    const px = (c: number) => x + M.left + (clients.length <= 1 ? 0.5 : clients.indexOf(c) / (clients.length - 1)) * (W - M.left - M.right);
    const py = (v: number) => M.top + (1 - v / max) * (H - M.top - M.bottom);
    const parts = [`<text x="${x + W / 2}" y="20" text-anchor="middle" font-size="13" font-weight="bold">${escape(label)}</text>`];
    for (let i = 0; i <= 4; i++) {
      const v = (max / 4) * i;
      parts.push(`<line x1="${x + M.left}" x2="${x + W - M.right}" y1="${py(v)}" y2="${py(v)}" stroke="#ddd"/>`);
      parts.push(`<text x="${x + M.left - 6}" y="${py(v) + 4}" text-anchor="end" font-size="10">${format(v)}</text>`);
    }
    for (const c of clients) parts.push(`<text x="${px(c)}" y="${H - M.bottom + 16}" text-anchor="middle" font-size="10">${c}</text>`);
    parts.push(`<text x="${x + W / 2}" y="${H - 8}" text-anchor="middle" font-size="11">clients</text>`);
    series.forEach((s, i) => {
      const color = COLORS[i % COLORS.length];
      const pts = s.points.map((p) => `${px(p.clients).toFixed(1)},${py(value(p)).toFixed(1)}`);
      parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.join(' ')}"/>`);
      for (const p of pts) parts.push(`<circle cx="${p.split(',')[0]}" cy="${p.split(',')[1]}" r="3" fill="${color}"/>`);
    });
    return parts.join('\n');
  };
  const legend = series
    .map(
      (s, i) =>
        `<g><rect x="${20 + i * 140}" y="${H + 8}" width="12" height="12" fill="${COLORS[i % COLORS.length]}"/><text x="${36 + i * 140}" y="${H + 18}" font-size="12">${escape(s.name)}</text></g>`,
    )
    .join('\n');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${2 * W}" height="${H + 60}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<title>${escape(title)}</title>`,
    panel(0, `${title}: throughput (requests/s)`, (p) => p.throughput),
    panel(W, `${title}: median latency (ms)`, (p) => p.p50),
    legend,
    '</svg>',
  ].join('\n');
}

function format(v: number): string {
  return v >= 1000 ? `${(v / 1000).toFixed(1)}k` : v >= 10 ? v.toFixed(0) : v.toFixed(2);
}

function escape(text: string): string {
  return text.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);
}

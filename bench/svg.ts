// A horizontal bar chart as a standalone SVG document, written by hand (no dependencies), for
// `npm run bench`: one bar per row, the value printed at the end of each bar.

export interface Bar {
  label: string;
  value: number;
  /** Text after the value, e.g. "n/a" reasons or units. */
  note?: string;
}

function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;" })[c]!);
}

function formatValue(v: number): string {
  return Math.round(v).toLocaleString("en-US");
}

export function barChart(title: string, subtitle: string, unit: string, bars: Bar[]): string {
  const labelWidth = 430;
  const barArea = 420;
  const valueWidth = 190;
  const rowHeight = 30;
  const top = 74;
  const width = labelWidth + barArea + valueWidth + 20;
  const height = top + bars.length * rowHeight + 30;
  // One bar far above the rest (the copy roof) would flatten them all: the scale then follows
  // the others and that bar is drawn cut, with a break mark.
  const sorted = bars.map((b) => b.value).sort((a, b) => b - a);
  const max = Math.max(1, sorted.length > 1 && sorted[0]! > 4 * sorted[1]! ? sorted[1]! * 1.1 : sorted[0] ?? 1);
  const palette = ["#2f6fb0", "#5b93c9", "#c0504d", "#d9826f", "#7f7f7f", "#8064a2", "#4f9a5b", "#9bbb59", "#e0a030"];
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="13">`);
  out.push(`<rect width="100%" height="100%" fill="#ffffff"/>`);
  out.push(`<text x="12" y="24" font-size="17" font-weight="bold">${escapeXml(title)}</text>`);
  out.push(`<text x="12" y="46" fill="#555555">${escapeXml(subtitle)}</text>`);
  out.push(`<text x="${labelWidth}" y="${top - 8}" fill="#555555">${escapeXml(unit)} (longer is faster)</text>`);
  bars.forEach((b, i) => {
    const y = top + i * rowHeight;
    const cut = b.value > max;
    const w = b.value > 0 ? Math.min(barArea, Math.max(1, (b.value / max) * barArea)) : 0;
    out.push(`<text x="${labelWidth - 10}" y="${y + 19}" text-anchor="end">${escapeXml(b.label)}</text>`);
    out.push(`<rect x="${labelWidth}" y="${y + 5}" width="${w.toFixed(1)}" height="${rowHeight - 10}" fill="${palette[i % palette.length]}"/>`);
    if (cut) {
      const x = labelWidth + barArea * 0.8;
      out.push(`<path d="M${x} ${y + 3} l6 0 l-6 ${rowHeight - 6} l-6 0 z" fill="#ffffff"/>`);
    }
    const text = b.value > 0 ? formatValue(b.value) + (b.note ? ` ${b.note}` : "") : (b.note ?? "n/a");
    out.push(`<text x="${(labelWidth + w + 6).toFixed(1)}" y="${y + 19}" fill="#222222">${escapeXml(text + (cut ? " (bar cut)" : ""))}</text>`);
  });
  out.push(`<line x1="${labelWidth}" y1="${top}" x2="${labelWidth}" y2="${top + bars.length * rowHeight}" stroke="#999999"/>`);
  out.push(`</svg>`);
  return out.join("\n") + "\n";
}

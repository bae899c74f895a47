// The few DOM helpers the web app needs instead of a framework: create
// elements declaratively, format times, and keep text out of innerHTML.

type Child = Node | string | number | false | null | undefined;
type Props = Record<string, string | number | boolean | EventListener | undefined>;

/** `h('button', { class: 'primary', onclick: go }, 'Start')` */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (value === true) el.setAttribute(key, '');
    else el.setAttribute(key, String(value));
  }
  for (const child of children) if (child !== null && child !== undefined && child !== false) el.append(child instanceof Node ? child : String(child));
  return el;
}

export function clock(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const hms = [Math.floor(s / 3600), Math.floor(s / 60) % 60, s % 60].map((n) => String(n).padStart(2, '0'));
  return s >= 3600 ? hms.join(':') : hms.slice(1).join(':');
}

export function bytes(n: number): string {
  return n < 1024 * 1024 ? `${(n / 1024).toFixed(0)} KB` : `${(n / 1048576).toFixed(1)} MB`;
}

/** How long ago an ISO time was, in words ("just now", "5 min ago", "3 h ago", else the date). */
export function ago(iso: string, now = Date.now()): string {
  const s = (now - Date.parse(iso)) / 1000;
  if (!(s >= 0)) return '';
  if (s < 60) return 'just now';
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  return new Date(iso).toLocaleDateString();
}

/** A tiny inline SVG area chart of the last values (0..max), stretched to its box. */
export function sparkline(values: number[], max: number, label: string): SVGSVGElement {
  const w = 160;
  const hgt = 32;
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', `0 0 ${w} ${hgt}`);
  svg.setAttribute('preserveAspectRatio', 'none');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', `${label}: now ${values.at(-1) ?? 0}, highest ${Math.max(0, ...values)}`);
  svg.classList.add('spark');
  const series = values.length === 1 ? [values[0]!, values[0]!] : values; // one sample is a flat line
  const y = (v: number) => hgt - 1 - (Math.min(v, max) / Math.max(max, 1)) * (hgt - 4);
  const points = series.map((v, i) => `${((i / Math.max(1, series.length - 1)) * w).toFixed(1)},${y(v).toFixed(1)}`);
  const area = document.createElementNS(ns, 'polygon');
  area.setAttribute('points', `0,${hgt} ${points.join(' ')} ${w},${hgt}`);
  const line = document.createElementNS(ns, 'polyline');
  line.setAttribute('points', points.join(' '));
  svg.append(area, line);
  return svg;
}

/**
 * The report's charts, drawn as inline SVG (no library, nothing fetched): horizontal bars per
 * model on a labelled axis, with an interval whisker where there is one.
 */
import { escapeHtml } from './html.js';

/** Geometry of a chart, in px. */
const LABEL_WIDTH_PX = 160;
const PLOT_WIDTH_PX = 380;
const VALUE_WIDTH_PX = 170;
const ROW_HEIGHT_PX = 28;
const BAR_HEIGHT_PX = 16;
const AXIS_HEIGHT_PX = 24;
const TOP_PX = 6;
const WHISKER_CAP_PX = 5;
/** Model ids longer than this many characters are cut in a chart (the full id is in its tooltip). */
const LABEL_CHARS = 22;
/** An axis has at most this many intervals between ticks. */
const MAX_TICK_INTERVALS = 5;

/** One bar: `value` on the chart's scale; `low`–`high` an interval drawn as a whisker. */
export interface Bar {
  readonly label: string;
  readonly value: number | undefined;
  readonly low?: number;
  readonly high?: number;
  /** Written after the bar. */
  readonly text: string;
}

/** A bar for a tail (p95) drawn behind a bar for the centre (p50). */
export interface PairedBar {
  readonly label: string;
  readonly centre: number | undefined;
  readonly tail: number | undefined;
  readonly text: string;
}

/** An axis from 0 to `max` with its ticks. */
interface Axis {
  readonly max: number;
  readonly ticks: readonly number[];
  readonly format: (value: number) => string;
}

const round = (value: number): number => Math.round(value * 10) / 10;

/** 0 to a round number at or above `max`, with round ticks (1, 2 or 5 × a power of ten apart). */
export function niceAxis(max: number, format: (value: number) => string): Axis {
  const top = max > 0 && Number.isFinite(max) ? max : 1;
  const raw = top / MAX_TICK_INTERVALS;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  const end = Math.ceil(top / step - 1e-9) * step;
  const ticks: number[] = [];
  for (let tick = 0; tick <= end + step / 2; tick += step) ticks.push(round(tick * 1e6) / 1e6);
  return { max: end, ticks, format };
}

/** A fixed axis with the given ticks. */
export function fixedAxis(max: number, ticks: readonly number[], format: (value: number) => string): Axis {
  return { max, ticks, format };
}

function frame(rows: number, body: string, axis: Axis, title: string): string {
  const x = scale(axis);
  const plotBottom = TOP_PX + rows * ROW_HEIGHT_PX;
  const width = LABEL_WIDTH_PX + PLOT_WIDTH_PX + VALUE_WIDTH_PX;
  const height = plotBottom + AXIS_HEIGHT_PX;
  const grid = axis.ticks
    .map(
      (tick) =>
        `<line class="grid" x1="${x(tick)}" x2="${x(tick)}" y1="${TOP_PX}" y2="${plotBottom}"/>` +
        `<text class="tick" x="${x(tick)}" y="${plotBottom + 16}">${escapeHtml(axis.format(tick))}</text>`,
    )
    .join('');
  return (
    `<svg class="chart" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeHtml(title)}">` +
    `<title>${escapeHtml(title)}</title>${grid}${body}</svg>`
  );
}

function scale(axis: Axis): (value: number) => number {
  return (value) =>
    round(LABEL_WIDTH_PX + (Math.max(0, Math.min(value, axis.max)) / axis.max) * PLOT_WIDTH_PX);
}

function label(text: string, y: number): string {
  const shown = [...text].length > LABEL_CHARS ? `${[...text].slice(0, LABEL_CHARS - 1).join('')}…` : text;
  return `<text class="label" x="${LABEL_WIDTH_PX - 8}" y="${y}"><title>${escapeHtml(text)}</title>${escapeHtml(shown)}</text>`;
}

/** One bar per entry, with a whisker for its interval. */
export function barChart(bars: readonly Bar[], axis: Axis, title: string): string {
  const x = scale(axis);
  const body = bars.map((bar, index) => {
    const top = TOP_PX + index * ROW_HEIGHT_PX + (ROW_HEIGHT_PX - BAR_HEIGHT_PX) / 2;
    const middle = top + BAR_HEIGHT_PX / 2;
    const rect =
      bar.value === undefined
        ? ''
        : `<rect class="bar" x="${LABEL_WIDTH_PX}" y="${top}" width="${round(x(bar.value) - LABEL_WIDTH_PX)}" height="${BAR_HEIGHT_PX}"/>`;
    let whisker = '';
    let end = bar.value === undefined ? LABEL_WIDTH_PX : x(bar.value);
    if (bar.low !== undefined && bar.high !== undefined) {
      const [a, b] = [x(bar.low), x(bar.high)];
      end = Math.max(end, b);
      // An end cut by the axis gets no cap: the interval goes on beyond it.
      const cap = (at: number): string => `M${at} ${middle - WHISKER_CAP_PX}V${middle + WHISKER_CAP_PX}`;
      whisker = `<path class="whisker" d="M${a} ${middle}H${b}${bar.low >= 0 ? cap(a) : ''}${bar.high <= axis.max ? cap(b) : ''}"/>`;
    }
    return `<g>${label(bar.label, middle + 4)}${rect}${whisker}<text class="value" x="${end + 6}" y="${middle + 4}">${escapeHtml(bar.text)}</text></g>`;
  });
  return frame(bars.length, body.join(''), axis, title);
}

/** Per entry a light tail bar (p95) with a dark centre bar (p50) in front of it. */
export function pairedBarChart(bars: readonly PairedBar[], axis: Axis, title: string): string {
  const x = scale(axis);
  const body = bars.map((bar, index) => {
    const top = TOP_PX + index * ROW_HEIGHT_PX + (ROW_HEIGHT_PX - BAR_HEIGHT_PX) / 2;
    const middle = top + BAR_HEIGHT_PX / 2;
    const rect = (value: number | undefined, cls: string): string =>
      value === undefined
        ? ''
        : `<rect class="${cls}" x="${LABEL_WIDTH_PX}" y="${top}" width="${round(x(value) - LABEL_WIDTH_PX)}" height="${BAR_HEIGHT_PX}"/>`;
    const end = x(Math.max(bar.centre ?? 0, bar.tail ?? 0));
    return `<g>${label(bar.label, middle + 4)}${rect(bar.tail, 'bar tail')}${rect(bar.centre, 'bar')}<text class="value" x="${end + 6}" y="${middle + 4}">${escapeHtml(bar.text)}</text></g>`;
  });
  return frame(bars.length, body.join(''), axis, title);
}

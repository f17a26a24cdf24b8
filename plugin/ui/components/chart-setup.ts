/** uPlot, loaded on demand (its own chunk) by TimeSeriesChart. */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { xScaleRange } from './chart-range.js';

export interface ChartHandle {
  setData(xs: number[], ys: (number | null)[][]): void;
  setWidth(width: number): void;
  destroy(): void;
}

/** Below this many values a series shows its points too. */
const POINTS_UP_TO = 40;

const css = (name: string, fallback: string) => getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;

export function createChart(
  el: HTMLElement,
  opts: { width: number; height: number; xs: number[]; series: { label: string; color?: string; ys: (number | null)[] }[] },
): ChartHandle {
  const accent = css('--accent', '#3b5bdb');
  const grid = css('--border', '#e3e6eb');
  const muted = css('--muted', '#5f6b7a');
  const axis = { stroke: muted, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 }, font: '11px system-ui, sans-serif' };
  // One series is filled below its line; several would hide each other, so they are lines only.
  const single = opts.series.length === 1;
  const plot = new uPlot(
    {
      width: opts.width,
      height: opts.height,
      legend: { show: false },
      cursor: { drag: { x: true, y: false } },
      scales: { x: { time: true, range: (u, min, max) => xScaleRange(u.data[0], min, max) } },
      axes: [axis, { ...axis, size: 48 }],
      series: [
        {},
        ...opts.series.map((s) => {
          const color = s.color ?? accent;
          return {
            label: s.label,
            stroke: color,
            width: 2,
            ...(single ? { fill: `${color}1a` } : {}),
            points: { show: s.ys.filter((y) => y !== null).length < POINTS_UP_TO, size: 5, fill: color },
            spanGaps: true,
          };
        }),
      ],
    },
    [opts.xs, ...opts.series.map((s) => s.ys)],
    el,
  );
  return {
    setData: (xs, ys) => plot.setData([xs, ...ys]),
    setWidth: (width) => plot.setSize({ width, height: opts.height }),
    destroy: () => plot.destroy(),
  };
}

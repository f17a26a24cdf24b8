/** uPlot, loaded on demand (its own chunk) by TimeSeriesChart. */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface ChartHandle {
  setData(xs: number[], ys: (number | null)[]): void;
  setWidth(width: number): void;
  destroy(): void;
}

const css = (name: string, fallback: string) => getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;

export function createChart(el: HTMLElement, opts: { label: string; width: number; height: number; xs: number[]; ys: (number | null)[] }): ChartHandle {
  const accent = css('--accent', '#3b5bdb');
  const grid = css('--border', '#e3e6eb');
  const muted = css('--muted', '#5f6b7a');
  const axis = { stroke: muted, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 }, font: '11px system-ui, sans-serif' };
  const plot = new uPlot(
    {
      width: opts.width,
      height: opts.height,
      legend: { show: false },
      cursor: { drag: { x: true, y: false } },
      scales: { x: { time: true } },
      axes: [axis, { ...axis, size: 48 }],
      series: [
        {},
        {
          label: opts.label,
          stroke: accent,
          width: 2,
          fill: `${accent}1a`,
          points: { show: opts.xs.length < 40, size: 5, fill: accent },
          spanGaps: true,
        },
      ],
    },
    [opts.xs, opts.ys],
    el,
  );
  return {
    setData: (xs, ys) => plot.setData([xs, ys]),
    setWidth: (width) => plot.setSize({ width, height: opts.height }),
    destroy: () => plot.destroy(),
  };
}

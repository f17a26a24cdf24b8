import { useEffect, useRef } from 'preact/hooks';
import type { ChartHandle } from './chart-setup.js';

export interface ChartSeries {
  label: string;
  /** One per x; null where the series has no value (the line spans the gap). */
  ys: (number | null)[];
  /** The accent colour unless given. */
  color?: string;
}

interface Props {
  /** What is plotted, for the plot's accessible name. */
  label: string;
  /** Unix seconds, ascending. */
  xs: number[];
  series: ChartSeries[];
  height?: number;
}

/** Numeric series over a shared time axis (uPlot, loaded on first use), as wide as its container. */
export function TimeSeriesChart({ label, xs, series, height = 150 }: Props) {
  const host = useRef<HTMLDivElement>(null);
  const chart = useRef<ChartHandle | null>(null);
  const data = useRef({ xs, series });
  data.current = { xs, series };
  // uPlot fixes its series when it is created: other series need a new chart, new values do not.
  const shape = JSON.stringify(series.map((s) => [s.label, s.color]));

  useEffect(() => {
    let disposed = false;
    let observer: ResizeObserver | null = null;
    void import('./chart-setup.js').then(({ createChart }) => {
      const el = host.current;
      if (disposed || !el) return;
      chart.current = createChart(el, { width: el.clientWidth, height, ...data.current });
      observer = new ResizeObserver(() => chart.current?.setWidth(el.clientWidth));
      observer.observe(el);
    });
    return () => {
      disposed = true;
      observer?.disconnect();
      chart.current?.destroy();
      chart.current = null;
    };
  }, [shape, height]);

  // Keyed on the value arrays, not on `series` (new on every render): setData also resets a zoom.
  useEffect(() => chart.current?.setData(xs, data.current.series.map((s) => s.ys)), [xs, ...series.map((s) => s.ys)]);

  return <div class="chart" ref={host} role="img" aria-label={`Plot of ${label} over time`} style={{ minHeight: `${height}px` }} />;
}

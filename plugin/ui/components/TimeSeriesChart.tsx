import { useEffect, useRef } from 'preact/hooks';
import type { ChartHandle } from './chart-setup.js';

interface Props {
  label: string;
  /** Unix seconds, ascending. */
  xs: number[];
  ys: (number | null)[];
  height?: number;
}

/** One numeric series over time (uPlot, loaded on first use), as wide as its container. */
export function TimeSeriesChart({ label, xs, ys, height = 150 }: Props) {
  const host = useRef<HTMLDivElement>(null);
  const chart = useRef<ChartHandle | null>(null);
  const data = useRef({ xs, ys });
  data.current = { xs, ys };

  useEffect(() => {
    let disposed = false;
    let observer: ResizeObserver | null = null;
    void import('./chart-setup.js').then(({ createChart }) => {
      const el = host.current;
      if (disposed || !el) return;
      chart.current = createChart(el, { label, width: el.clientWidth, height, ...data.current });
      observer = new ResizeObserver(() => chart.current?.setWidth(el.clientWidth));
      observer.observe(el);
    });
    return () => {
      disposed = true;
      observer?.disconnect();
      chart.current?.destroy();
      chart.current = null;
    };
  }, [label, height]);

  useEffect(() => chart.current?.setData(xs, ys), [xs, ys]);

  return <div class="chart" ref={host} role="img" aria-label={`Plot of ${label} over time`} style={{ minHeight: `${height}px` }} />;
}

/** Seconds either side of a lone point: uPlot's own range for min === max spans years. */
const LONE_POINT_SPAN_S = 3600;

/** The time axis (uPlot seconds) a chart shows for its data: one point sits in the middle of two hours. */
export function timeAxisRange(min: number | null, max: number | null): [number | null, number | null] {
  if (min === null || max === null || min !== max) return [min, max];
  return [min - LONE_POINT_SPAN_S, max + LONE_POINT_SPAN_S];
}

/**
 * The x scale's range callback. uPlot widens a lone time first (to min + 86400 / ms: 1000 days
 * for times in seconds) and only then asks, so whether there is one time is read from the data
 * (ascending, so the first and last x are its range).
 */
export function xScaleRange(xs: ArrayLike<number | null | undefined>, min: number | null, max: number | null): [number | null, number | null] {
  const first = xs[0];
  const last = xs[xs.length - 1];
  return typeof first === 'number' && first === last ? timeAxisRange(first, last) : timeAxisRange(min, max);
}

/** Seconds either side of a lone point: uPlot's own range for min === max spans years. */
const LONE_POINT_SPAN_S = 3600;

/** The time axis (uPlot seconds) a chart shows for its data: one point sits in the middle of two hours. */
export function timeAxisRange(min: number | null, max: number | null): [number | null, number | null] {
  if (min === null || max === null || min !== max) return [min, max];
  return [min - LONE_POINT_SPAN_S, max + LONE_POINT_SPAN_S];
}

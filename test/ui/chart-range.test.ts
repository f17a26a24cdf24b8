import { describe, expect, it } from 'vitest';
import { timeAxisRange, xScaleRange } from '../../plugin/ui/components/chart-range.js';

describe('the time axis of a chart', () => {
  const t = Date.parse('2026-12-03T08:00:00Z') / 1000;

  it('puts a lone point in the middle of two hours (uPlot alone drew 2027 to 2029 for a point in 2026-12)', () => {
    expect(timeAxisRange(t, t)).toEqual([t - 3600, t + 3600]);
  });

  it('reads a lone point from the data: uPlot has widened it by 1000 days before it asks', () => {
    expect(xScaleRange([t], t, t + 86_400_000)).toEqual([t - 3600, t + 3600]);
    expect(xScaleRange([t, t + 60], t, t + 60)).toEqual([t, t + 60]);
  });

  it('leaves the range of several points and of no data to uPlot', () => {
    expect(timeAxisRange(t, t + 60)).toEqual([t, t + 60]);
    expect(timeAxisRange(null, null)).toEqual([null, null]);
  });
});

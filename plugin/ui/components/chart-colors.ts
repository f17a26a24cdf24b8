/**
 * Line colours of a plot with several series, in order; a legend or table shows the same colour
 * next to each series. Dark enough for 3:1 against the white plot (WCAG 1.4.11), told apart by hue.
 */
const PALETTE = ['#3b5bdb', '#c2255c', '#2b8a3e', '#e8590c', '#7048e8', '#0c8599', '#a61e4d', '#5c940d', '#862e9c', '#1864ab'];

/** Colours repeat after ten series. */
export const seriesColor = (index: number): string => PALETTE[index % PALETTE.length];

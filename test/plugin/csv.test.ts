import { describe, expect, it } from 'vitest';
import { toCsv } from '../../plugin/routes/csv.js';

const ts = '2025-04-16T12:00:00.000Z';

describe('CSV export neutralises formulas', () => {
  it.each([
    ['=HYPERLINK("http://x")', `"'=HYPERLINK(""http://x"")"`],
    ['+1+cmd|/c calc', `'+1+cmd|/c calc`],
    ['-1-2', `'-1-2`],
    ['-5', `'-5`],
    ['@SUM(A1)', `'@SUM(A1)`],
    ['\t=1', `'\t=1`],
    ['\r=1', `"'\r=1"`],
    ['plain', 'plain'],
  ])('a text cell %j becomes %j', (value, cell) => {
    expect(toCsv([{ ts, data: { v: value } }])).toBe(`ts,v\r\n${ts},${cell}\r\n`);
  });

  it('leaves numbers alone, whatever their sign, and neutralises column names too', () => {
    const csv = toCsv([{ ts, data: { delta: -2, '=cmd': 1 } }]);
    expect(csv).toBe(`ts,delta,'=cmd\r\n${ts},-2,1\r\n`);
  });
});

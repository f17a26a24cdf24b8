import { useEffect, useMemo, useState } from 'preact/hooks';
import { asApiError, type ApiError } from '../../api/errors.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { TimeSeriesChart } from '../../components/TimeSeriesChart.js';
import { useApp } from '../../lib/app-context.js';
import { dateTime } from '../../lib/format.js';
import { download } from '../../lib/download.js';
import { useLoad } from '../../lib/use-load.js';
import { normalizedSeries, tabulate, type Series } from './bucket-series.js';

const LIMITS = [100, 500, 1000, 5000];
const TABLE_ROWS = 25;

const cell = (v: unknown): string => (v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));
const number = new Intl.NumberFormat(undefined, { maximumFractionDigits: 3 });

/** The device's bucket: a plot per normalized quantity and per numeric field, the latest rows, CSV download. `version` bumps reload it. */
export function BucketCard({ bucketId, version }: { bucketId: string; version: number }) {
  const { api } = useApp();
  const [limit, setLimit] = useState(LIMITS[0]);
  const [csvError, setCsvError] = useState<ApiError | null>(null);
  const data = useLoad(() => api.bucketData(bucketId, { limit, order: 'desc' }), [api, bucketId, limit]);
  useEffect(() => {
    if (version) data.reload();
  }, [version]);
  const ascending = useMemo(() => [...(data.data?.items ?? [])].reverse(), [data.data]);
  const table = useMemo(() => tabulate(ascending), [ascending]);
  const measured = useMemo(() => normalizedSeries(ascending), [ascending]);
  // Units come with the quantities list, read once and only for a device that has measurements.
  const hasMeasurements = measured.length > 0;
  const quantities = useLoad(() => (hasMeasurements ? api.quantities() : Promise.resolve([])), [api, hasMeasurements]);
  const units = useMemo(() => new Map((quantities.data ?? []).map((q) => [q.quantity, q.unit])), [quantities.data]);
  const numeric = new Set(table.series.map((s) => s.key));

  const downloadCsv = async () => {
    setCsvError(null);
    try {
      download(await api.bucketCsv(bucketId, { limit }), `${bucketId}.csv`);
    } catch (err) {
      setCsvError(asApiError(err));
    }
  };

  return (
    <section class="card" aria-labelledby="bucket-title">
      <header class="card-header row">
        <div>
          <h2 id="bucket-title">Data</h2>
          <p class="hint">
            Bucket <code>{bucketId}</code>
            {data.data && ` · ${table.rows.length} ${table.rows.length === 1 ? 'row' : 'rows'} shown`}
          </p>
        </div>
        <div class="button-row">
          <span class="inline-field">
            <label for="bucket-limit">Rows</label>
            <select id="bucket-limit" value={limit} onChange={(e) => setLimit(Number(e.currentTarget.value))}>
              {LIMITS.map((n) => (
                <option key={n} value={n}>
                  last {n}
                </option>
              ))}
            </select>
          </span>
          <button type="button" class="btn" onClick={downloadCsv} disabled={!table.rows.length}>
            Download CSV
          </button>
        </div>
      </header>
      <ErrorNote error={data.error} prefix="Data could not be loaded" />
      <ErrorNote error={csvError} prefix="CSV download failed" />
      <ErrorNote error={quantities.error} prefix="Units could not be loaded" />
      {data.data && table.rows.length === 0 && <p class="muted">No data yet. Rows appear with the next uplink.</p>}
      {hasMeasurements && (
        <>
          <h3 class="charts-heading">Normalized measurements</h3>
          <div class="charts">
            {measured.map((s) => (
              <ChartCard key={s.key} series={s} unit={units.get(s.key) ?? ''} />
            ))}
          </div>
          {table.series.length > 0 && <h3 class="charts-heading">Decoded data</h3>}
        </>
      )}
      {table.series.length > 0 && (
        <div class="charts">
          {table.series.map((s) => (
            <ChartCard key={s.key} series={s} unit="" />
          ))}
        </div>
      )}
      {table.rows.length > 0 && (
        <div class="table-scroll" tabIndex={0} role="region" aria-label="Latest rows">
          <table class="table compact">
            <thead>
              <tr>
                <th scope="col">Time</th>
                {table.columns.map((c) => (
                  <th scope="col" key={c} class={numeric.has(c) ? 'num' : ''}>
                    {c}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {table.rows
                .slice(-TABLE_ROWS)
                .reverse()
                .map((r) => (
                  <tr key={r.ts}>
                    <td class="nowrap">{dateTime(r.ts)}</td>
                    {table.columns.map((c) => (
                      <td key={c} class={typeof r.cells[c] === 'number' ? 'num' : ''}>
                        {cell(r.cells[c])}
                      </td>
                    ))}
                  </tr>
                ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

/** A series' plot under its name, latest value and range; a normalized quantity's name carries its unit. */
function ChartCard({ series: s, unit }: { series: Series; unit: string }) {
  const title = unit ? `${s.key} (${unit})` : s.key;
  return (
    <figure class="chart-card">
      <figcaption>
        <span class="chart-title">{title}</span>
        <span class="chart-last">{s.last === null ? '—' : number.format(s.last)}</span>
        <span class="chart-range">
          min {number.format(s.min)} · max {number.format(s.max)}
        </span>
      </figcaption>
      <TimeSeriesChart label={title} xs={s.xs} series={[{ label: title, ys: s.ys }]} />
    </figure>
  );
}

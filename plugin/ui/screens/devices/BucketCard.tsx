import { useEffect, useMemo, useState } from 'preact/hooks';
import { asApiError, type ApiError } from '../../api/errors.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { TimeSeriesChart } from '../../components/TimeSeriesChart.js';
import { useApp } from '../../lib/app-context.js';
import { dateTime } from '../../lib/format.js';
import { download } from '../../lib/download.js';
import { useLoad } from '../../lib/use-load.js';
import { tabulate } from './bucket-series.js';

const LIMITS = [100, 500, 1000, 5000];
const TABLE_ROWS = 25;

const cell = (v: unknown): string => (v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));
const number = new Intl.NumberFormat(undefined, { maximumFractionDigits: 3 });

/** The device's bucket: a plot per numeric field, the latest rows, CSV download. `version` bumps reload it. */
export function BucketCard({ bucketId, version }: { bucketId: string; version: number }) {
  const { api } = useApp();
  const [limit, setLimit] = useState(LIMITS[0]);
  const [csvError, setCsvError] = useState<ApiError | null>(null);
  const data = useLoad(() => api.bucketData(bucketId, { limit, order: 'desc' }), [api, bucketId, limit]);
  useEffect(() => {
    if (version) data.reload();
  }, [version]);
  const table = useMemo(() => tabulate([...(data.data?.items ?? [])].reverse()), [data.data]);
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
      {data.data && table.rows.length === 0 && <p class="muted">No data yet. Rows appear with the next uplink.</p>}
      {table.series.length > 0 && (
        <div class="charts">
          {table.series.map((s) => (
            <figure class="chart-card" key={s.key}>
              <figcaption>
                <span class="chart-title">{s.key}</span>
                <span class="chart-last">{s.last === null ? '—' : number.format(s.last)}</span>
                <span class="chart-range">
                  min {number.format(s.min)} · max {number.format(s.max)}
                </span>
              </figcaption>
              <TimeSeriesChart label={s.key} xs={s.xs} ys={s.ys} />
            </figure>
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

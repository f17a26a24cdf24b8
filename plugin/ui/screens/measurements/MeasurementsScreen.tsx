import { useEffect, useMemo, useState } from 'preact/hooks';
import type { MeasurementValue, Quantity } from '../../api/types.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { seriesColor } from '../../components/chart-colors.js';
import { TimeSeriesChart } from '../../components/TimeSeriesChart.js';
import { useApp } from '../../lib/app-context.js';
import { ago, dateTime } from '../../lib/format.js';
import { hrefOf } from '../../lib/router.js';
import { useLoad } from '../../lib/use-load.js';
import { useNow } from '../../lib/use-now.js';
import { alignNumbers, byDevice } from './measurement-series.js';

/** The Default profile's id: it names no application (its devices keep their own application ids), so it is no filter. */
const DEFAULT_PROFILE = 'default';
const HOUR = 3_600_000;
const RANGES = [
  { id: '24h', label: 'Last 24 hours', ms: 24 * HOUR },
  { id: '7d', label: 'Last 7 days', ms: 7 * 24 * HOUR },
  { id: '30d', label: 'Last 30 days', ms: 30 * 24 * HOUR },
  { id: 'all', label: 'All time', ms: null },
] as const;
type RangeId = (typeof RANGES)[number]['id'];

/** Values read per view, the newest first, so every device's latest value is among them. */
const LIMIT = 10_000;

const number = new Intl.NumberFormat(undefined, { maximumFractionDigits: 3 });

function formatValue(value: MeasurementValue, unit: string): string {
  if (typeof value === 'number') return unit ? `${number.format(value)} ${unit}` : number.format(value);
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  return value;
}

const titleOf = (q: Pick<Quantity, 'quantity' | 'unit'>) => (q.unit ? `${q.quantity} (${q.unit})` : q.quantity);

/**
 * One normalized quantity (`air.temperature`) across every device that reports it, whichever
 * vendor's codec produced it: a line per device and each device's latest value.
 */
export function MeasurementsScreen() {
  const { api } = useApp();
  const quantities = useLoad(() => api.quantities(), [api]);
  const profiles = useLoad(api.profiles, [api]);
  const [quantity, setQuantity] = useState<string | null>(null);
  const [appId, setAppId] = useState('');
  const [rangeId, setRangeId] = useState<RangeId>('24h');
  const now = useNow();

  const list = quantities.data ?? [];
  const measured = list.filter((q) => q.measured);
  // Until one is chosen: the first quantity any device reported.
  useEffect(() => {
    if (quantity === null && quantities.data) setQuantity((measured[0] ?? list[0])?.quantity ?? null);
  }, [quantities.data]);
  const chosen = list.find((q) => q.quantity === quantity) ?? null;
  const range = RANGES.find((r) => r.id === rangeId) ?? RANGES[0];

  const values = useLoad(
    () =>
      quantity
        ? api.measurements({
            quantity,
            ...(appId ? { app_id: appId } : {}),
            ...(range.ms ? { from: new Date(Date.now() - range.ms).toISOString() } : {}),
            limit: LIMIT,
            order: 'desc',
          })
        : Promise.resolve(null),
    [api, quantity, appId, rangeId],
  );
  const devices = useMemo(() => byDevice([...(values.data?.items ?? [])].reverse()), [values.data]);
  const numeric = devices.length > 0 && devices.every((d) => d.points.every((p) => typeof p.value === 'number'));
  const chart = useMemo(() => (numeric ? alignNumbers(devices) : null), [devices, numeric]);
  const unit = values.data?.unit ?? chosen?.unit ?? '';
  const title = chosen ? titleOf(chosen) : (quantity ?? '');
  const apps = (profiles.data ?? []).map((p) => p.app_id).filter((id) => id !== DEFAULT_PROFILE);
  const points = values.data?.items.length ?? 0;

  const refresh = () => {
    quantities.reload();
    values.reload();
  };

  return (
    <div class="page">
      <header class="page-header">
        <div>
          <h1>Measurements</h1>
          <p class="lead">One quantity across every device that reports it, in the shared vocabulary of normalized payloads, whichever vendor’s codec decoded it.</p>
        </div>
        <button type="button" class="btn" onClick={refresh} disabled={values.loading}>
          Refresh
        </button>
      </header>

      <form class="card filters measurement-filters" role="search" aria-label="Measurement filters" onSubmit={(e) => e.preventDefault()}>
        <div class="measurement-quantity">
          <label class="field-label" for="measurement-quantity">
            Quantity
          </label>
          <select id="measurement-quantity" value={quantity ?? ''} disabled={!quantities.data} onChange={(e) => setQuantity(e.currentTarget.value)}>
            {measured.length > 0 && <QuantityGroup label="Measured" items={measured} />}
            <QuantityGroup label="Not measured yet" items={list.filter((q) => !q.measured)} />
          </select>
        </div>
        <div>
          <label class="field-label" for="measurement-app">
            Application
          </label>
          <select id="measurement-app" value={appId} onChange={(e) => setAppId(e.currentTarget.value)}>
            <option value="">All applications</option>
            {apps.map((id) => (
              <option key={id} value={id}>
                {id}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label class="field-label" for="measurement-range">
            Time range
          </label>
          <select id="measurement-range" value={rangeId} onChange={(e) => setRangeId(e.currentTarget.value as RangeId)}>
            {RANGES.map((r) => (
              <option key={r.id} value={r.id}>
                {r.label}
              </option>
            ))}
          </select>
        </div>
      </form>

      <ErrorNote error={quantities.error} prefix="Quantities could not be loaded" />
      <ErrorNote error={profiles.error} prefix="Applications could not be loaded" />
      <ErrorNote error={values.error} prefix="Measurements could not be loaded" />

      {values.loading && !values.data && <p class="muted">Loading measurements…</p>}
      {quantities.data && measured.length === 0 && (
        <div class="card empty">
          <p>
            Nothing measured yet. Devices appear here once their uplinks carry normalized measurements: from a codec’s <code>normalizeUplink</code>, a formatter
            that returns them (<code>{'{air: {temperature}}'}</code>), or The Things Stack’s normalized payload.
          </p>
        </div>
      )}
      {measured.length > 0 && values.data && devices.length === 0 && (
        <div class="card empty">
          <p>
            No {title} values from {appId || 'any application'}
            {range.ms ? ` in the ${range.label.toLowerCase()}` : ''}.
          </p>
        </div>
      )}

      {chart && (
        <figure class="card measurement-chart">
          <figcaption>
            <span class="chart-title">{title}</span>
            <span class="chart-range">
              {devices.length} {devices.length === 1 ? 'device' : 'devices'} · {points} {points === 1 ? 'value' : 'values'} · {range.label.toLowerCase()}
            </span>
          </figcaption>
          <TimeSeriesChart
            label={`${title} per device`}
            xs={chart.xs}
            series={devices.map((d, i) => ({ label: `${d.deviceId} · ${d.appId}`, ys: chart.ys[i], color: seriesColor(i) }))}
            height={280}
          />
        </figure>
      )}

      {devices.length > 0 && (
        <section class="card flush" aria-labelledby="latest-title">
          <header class="card-header table-title">
            <h2 id="latest-title">Latest {title} by device</h2>
            {points === LIMIT && <p class="hint">Only the newest {number.format(LIMIT)} values are shown; pick a shorter time range to see all.</p>}
          </header>
          <table class="table measurements-table">
            <thead>
              <tr>
                <th scope="col">Device</th>
                <th scope="col">Application</th>
                <th scope="col" class="num">
                  Latest value
                </th>
                <th scope="col">Time</th>
                <th scope="col" class="num">
                  Points
                </th>
              </tr>
            </thead>
            <tbody>
              {devices.map((d, i) => (
                <tr key={d.deviceId}>
                  <td data-label="Device">
                    {chart && <span class="swatch" aria-hidden="true" style={{ background: seriesColor(i) }} />}
                    <a class="mono strong" href={hrefOf({ screen: 'device', id: d.deviceId })}>
                      {d.deviceId}
                    </a>
                  </td>
                  <td data-label="Application">{d.appId}</td>
                  <td data-label="Latest value" class="num strong">
                    {formatValue(d.latest.value, unit)}
                  </td>
                  <td data-label="Time">
                    <time dateTime={d.latest.ts}>{dateTime(d.latest.ts)}</time>
                    <div class="sub">{ago(d.latest.ts, now)}</div>
                  </td>
                  <td data-label="Points" class="num">
                    {d.points.length}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
    </div>
  );
}

function QuantityGroup({ label, items }: { label: string; items: Quantity[] }) {
  return (
    <optgroup label={label}>
      {items.map((q) => (
        <option key={q.quantity} value={q.quantity}>
          {titleOf(q)} · {q.description}
        </option>
      ))}
    </optgroup>
  );
}

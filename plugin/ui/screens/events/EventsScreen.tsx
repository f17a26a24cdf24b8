import { useEffect, useRef, useState } from 'preact/hooks';
import { EVENT_CATEGORIES, SEVERITIES } from '../../../store/records.js';
import type { EventCategory, EventFilters, PluginEvent, Severity } from '../../api/types.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { useApp } from '../../lib/app-context.js';
import { clockTime, dateTime } from '../../lib/format.js';
import { useEventStream } from '../../lib/use-event-stream.js';
import { useLoad } from '../../lib/use-load.js';
import { EventDetail } from './EventDetail.js';
import { SeverityBadge } from './SeverityBadge.js';

/** Events kept on screen; older ones stay in the plugin's log (GET /api/events). */
const MAX_SHOWN = 500;
const INITIAL = 200;

/** The event log: the latest events, then live ones as they happen; filters run on the server. */
export function EventsScreen() {
  const { api } = useApp();
  const profiles = useLoad(api.profiles, [api]);
  const [appText, setAppText] = useState('');
  const [deviceText, setDeviceText] = useState('');
  const [category, setCategory] = useState<EventCategory | ''>('');
  const [severity, setSeverity] = useState<Severity | ''>('');
  const [filters, setFilters] = useState<EventFilters>({});
  const [items, setItems] = useState<PluginEvent[]>([]);
  const [pending, setPending] = useState<PluginEvent[]>([]);
  const [paused, setPaused] = useState(false);
  const [selected, setSelected] = useState<PluginEvent | null>(null);
  const fresh = useRef(new Set<number>());
  const pausedRef = useRef(paused);
  pausedRef.current = paused;

  // Text filters apply after a pause in typing; selects apply at once.
  useEffect(() => {
    const t = setTimeout(() => {
      const next: EventFilters = {};
      if (appText.trim()) next.app_id = appText.trim();
      if (deviceText.trim()) next.device_id = deviceText.trim();
      if (category) next.category = category;
      if (severity) next.severity = severity;
      setFilters(next);
    }, appText || deviceText ? 300 : 0);
    return () => clearTimeout(t);
  }, [appText, deviceText, category, severity]);

  const initial = useLoad(() => api.events({ ...filters, limit: INITIAL }), [api, JSON.stringify(filters)]);
  useEffect(() => {
    if (!initial.data) return;
    fresh.current.clear();
    setItems(initial.data);
    setPending([]);
  }, [initial.data]);

  const add = (e: PluginEvent) => {
    if (pausedRef.current) {
      setPending((p) => (p.some((x) => x.id === e.id) ? p : [e, ...p]));
      return;
    }
    fresh.current.add(e.id);
    setItems((list) => (list.some((x) => x.id === e.id) ? list : [e, ...list].slice(0, MAX_SHOWN)));
  };
  const live = useEventStream(filters, add, {
    enabled: initial.data !== null,
    resumeAfter: initial.data ? (initial.data[0]?.id ?? 0) : null,
  });

  const resume = () => {
    setPaused(false);
    for (const e of pending) fresh.current.add(e.id);
    setItems((list) => {
      const known = new Set(list.map((x) => x.id));
      return [...pending.filter((e) => !known.has(e.id)), ...list].slice(0, MAX_SHOWN);
    });
    setPending([]);
  };

  const status = paused ? `Paused · ${pending.length} new` : live === 'open' ? 'Live' : live === 'retrying' ? 'Reconnecting…' : 'Connecting…';

  return (
    <div class="page">
      <header class="page-header">
        <div>
          <h1>Live events</h1>
          <p class="lead">Everything the plugin does, as it happens: TTS webhooks and ThingPark reports, uplinks, formatter runs, provisioning, downlinks.</p>
        </div>
        <div class="button-row">
          <span class={`live-pill live-${paused ? 'paused' : live}`} role="status">
            {status}
          </span>
          {paused ? (
            <button type="button" class="btn btn-primary" onClick={resume}>
              Resume
            </button>
          ) : (
            <button type="button" class="btn" onClick={() => setPaused(true)}>
              Pause
            </button>
          )}
        </div>
      </header>

      <form class="card filters" role="search" aria-label="Event filters" onSubmit={(e) => e.preventDefault()}>
        <div>
          <label class="field-label" for="filter-app">
            Application
          </label>
          <input id="filter-app" list="event-apps" value={appText} placeholder="All" spellcheck={false} onInput={(e) => setAppText(e.currentTarget.value)} />
          <datalist id="event-apps">
            {profiles.data?.map((p) => (
              <option key={p.app_id} value={p.app_id} />
            ))}
          </datalist>
        </div>
        <div>
          <label class="field-label" for="filter-device">
            Device
          </label>
          <input id="filter-device" value={deviceText} placeholder="All" spellcheck={false} onInput={(e) => setDeviceText(e.currentTarget.value)} />
        </div>
        <div>
          <label class="field-label" for="filter-category">
            Category
          </label>
          <select id="filter-category" value={category} onChange={(e) => setCategory(e.currentTarget.value as EventCategory | '')}>
            <option value="">All</option>
            {EVENT_CATEGORIES.map((c) => (
              <option key={c} value={c}>
                {c}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label class="field-label" for="filter-severity">
            Severity
          </label>
          <select id="filter-severity" value={severity} onChange={(e) => setSeverity(e.currentTarget.value as Severity | '')}>
            <option value="">All</option>
            {SEVERITIES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </div>
      </form>

      <ErrorNote error={initial.error} prefix="Events could not be loaded" />
      <div class={`events-layout${selected ? ' with-detail' : ''}`}>
        <div class="card flush">
          {initial.data && items.length === 0 && <p class="muted pad">No events match. New ones appear here as they happen.</p>}
          {/* New events are announced politely as they arrive (a log; the list keeps its list role). */}
          <ol class="event-list" aria-label="Events" aria-live="polite" aria-relevant="additions">
            {items.map((e) => (
              <li key={e.id} class={fresh.current.has(e.id) ? 'fresh' : ''}>
                <button type="button" class="event-row" aria-current={selected?.id === e.id ? 'true' : undefined} onClick={() => setSelected(e)}>
                  <time dateTime={e.ts} title={dateTime(e.ts)}>
                    {clockTime(e.ts)}
                  </time>
                  <SeverityBadge severity={e.severity} />
                  <span class="event-category">{e.category}</span>
                  <span class="event-title">{e.title}</span>
                  <span class="event-source mono">{e.device_id ?? e.app_id ?? ''}</span>
                </button>
              </li>
            ))}
          </ol>
        </div>
        {selected && <EventDetail event={selected} onClose={() => setSelected(null)} />}
      </div>
    </div>
  );
}

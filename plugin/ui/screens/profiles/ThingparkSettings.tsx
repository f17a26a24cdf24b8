import type { Json, ThingparkSettings as Connection, ThingparkSetup } from '../../api/types.js';
import { Badge } from '../../components/Badge.js';
import { CopyButton } from '../../components/CopyButton.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { JsonBlock } from '../../components/JsonBlock.js';
import { SchemaField } from '../../components/SchemaField.js';
import { useApp } from '../../lib/app-context.js';
import { useLoad } from '../../lib/use-load.js';
import { labelOf, type JsonSchema } from '../../schema/json-schema.js';
import { keyInput, thingparkFieldSchema, THINGPARK_FIELDS } from './thingpark-fields.js';

interface Props {
  appId: string;
  /** The `thingpark` part of the settings schema in /manifest.json. */
  schema: JsonSchema;
  /** The draft connection: `as_key` only when a new key was entered. */
  value: Partial<Connection>;
  problems: Record<string, string>;
  /** Whether the plugin holds a key for this connection (it never returns the key itself). */
  keySet: boolean;
  /** Changes when the profile was saved: what to paste follows the saved settings. */
  savedAt: string;
  onChange(value: Partial<Connection>): void;
}

/** The "ThingPark settings" tab: what to set in ThingPark, then the connection (saved with the profile). */
export function ThingparkSettings(props: Props) {
  return (
    <div class="stack">
      <ThingparkSetupCard appId={props.appId} savedAt={props.savedAt} keySet={props.keySet} />
      <ConnectionCard {...props} />
    </div>
  );
}

function ConnectionCard({ schema, value, problems, keySet, onChange }: Props) {
  return (
    <section class="card" aria-labelledby="tp-connection-title">
      <header class="card-header">
        <h2 id="tp-connection-title">ThingPark connection</h2>
        <p class="hint">
          How the plugin checks ThingPark’s reports and sends downlinks to the LRC. Saved with the profile. Tunnel key:{' '}
          {keySet ? (
            <Badge tone="ok" title="A key is stored; it is never shown">
              set
            </Badge>
          ) : (
            <Badge tone="warn" title="Reports are refused until a key is stored">
              not set
            </Badge>
          )}
        </p>
      </header>
      <div class="fields">
        {THINGPARK_FIELDS.map((key) => (
          <SchemaField
            key={key}
            name={key}
            schema={thingparkFieldSchema(schema, key, 'edit')}
            value={value[key]}
            problem={problems[`/thingpark/${key}`]}
            idPrefix="thingpark"
            {...(key === 'as_key' ? { placeholder: keySet ? 'stored: leave empty to keep it' : 'not set: enter the key from ThingPark' } : {})}
            {...(key === 'downlink_url' ? { placeholder: 'https://api.thingpark.com/thingpark/lrc/rest/downlink' } : {})}
            onChange={(v) => {
              const next: Record<string, unknown> = { ...value, [key]: key === 'as_key' ? keyInput(v) : v };
              // An empty key field keeps the stored key: the save then sends no as_key at all.
              if (key === 'as_key' && next.as_key === '') delete next.as_key;
              onChange(next as Partial<Connection>);
            }}
          />
        ))}
      </div>
    </section>
  );
}

/** Fields of the setup shown in their own place; any other field the plugin sends is shown after them as it comes. */
const SHOWN = new Set(['network', 'url', 'as_id', 'content_types']);

/** What to set in ThingPark (an AS routing profile with a Generic HTTPS application), with copy buttons. */
function ThingparkSetupCard({ appId, savedAt, keySet }: { appId: string; savedAt: string; keySet: boolean }) {
  const { api } = useApp();
  const setup = useLoad(() => api.webhook(appId), [api, appId, savedAt]);

  if (setup.error) return <ErrorNote error={setup.error} prefix="ThingPark settings could not be loaded" />;
  const s = setup.data;
  if (!s) return <p class="muted">Loading ThingPark settings…</p>;
  if (s.network !== 'thingpark') return <p class="muted">This profile is not a ThingPark connection (saved as {s.network}).</p>;
  const extra = Object.entries(s as ThingparkSetup & Record<string, Json>).filter(([key]) => !SHOWN.has(key));

  return (
    <section class="card" aria-labelledby="tp-setup-title">
      <header class="card-header">
        <h2 id="tp-setup-title">Connect ThingPark</h2>
        <p class="hint">
          In ThingPark, add an application of type Generic HTTPS (an AS routing profile) for <span class="mono nowrap">{appId}</span> with these
          values, and turn on tunnel interface authentication.
        </p>
      </header>
      <dl class="kv">
        <dt>Destination URL</dt>
        <dd class="copyable">
          <code>{s.url}</code>
          <CopyButton text={s.url} label="Copy destination URL" />
        </dd>
        <dt>Content type</dt>
        <dd>
          <ContentTypes types={s.content_types} />
        </dd>
        <dt>AS ID</dt>
        <dd class="copyable">
          {s.as_id ? (
            <>
              <code>{s.as_id}</code>
              <CopyButton text={s.as_id} label="Copy AS ID" />
            </>
          ) : (
            <span class="text-warn">not set: enter it below and save</span>
          )}
        </dd>
        <dt>Tunnel key</dt>
        <dd>
          The Tunnel Interface Authentication Key is the one ThingPark generates for this AS ID: copy it from ThingPark into the Tunnel key field below.{' '}
          {keySet ? <span class="muted">This profile holds one (never shown).</span> : <span class="text-warn">This profile has none yet: ThingPark’s reports are refused.</span>}
        </dd>
      </dl>
      {extra.map(([key, v]) => (
        <SetupExtra key={key} name={key} value={v} />
      ))}
    </section>
  );
}

/** The recommended content type first and strong; the others ThingPark may send too. */
function ContentTypes({ types }: { types: string[] }) {
  const recommended = types.filter((t) => /recommended/i.test(t));
  const first = recommended[0] ?? types[0];
  const others = types.filter((t) => t !== first);
  if (!first) return <span class="muted">—</span>;
  return (
    <>
      <strong>{first}</strong>
      {others.length > 0 && <span class="muted"> · also accepted: {others.join(', ')}</span>}
    </>
  );
}

/** A setup field without a place of its own (steps, instructions…): a list of lines, a copyable value, or JSON. */
function SetupExtra({ name, value }: { name: string; value: Json }) {
  const title = name === 'steps' || name === 'instructions' ? 'Step by step' : labelOf(name, {});
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) {
    return (
      <>
        <h3>{title}</h3>
        <ol class="steps">
          {value.map((line, i) => (
            <li key={i}>{line}</li>
          ))}
        </ol>
      </>
    );
  }
  if (typeof value === 'string' && /\s/.test(value.trim())) {
    return (
      <>
        <h3>{title}</h3>
        <p>{value}</p>
      </>
    );
  }
  if (typeof value === 'string' || typeof value === 'number') {
    return (
      <>
        <h3>{title}</h3>
        <p class="copyable">
          <code>{String(value)}</code>
          <CopyButton text={String(value)} label={`Copy ${title}`} />
        </p>
      </>
    );
  }
  return (
    <>
      <h3>{title}</h3>
      <JsonBlock value={value} />
    </>
  );
}

import type { ConnectionStatus, Json, MqttView, ThingparkMqttSettings, ThingparkSettings as Connection, ThingparkSetup, ThingparkView } from '../../api/types.js';
import { Badge } from '../../components/Badge.js';
import { ConnectionLine } from '../../components/ConnectionStatus.js';
import { CopyButton } from '../../components/CopyButton.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { JsonBlock } from '../../components/JsonBlock.js';
import { SchemaField } from '../../components/SchemaField.js';
import { useApp } from '../../lib/app-context.js';
import { useLoad } from '../../lib/use-load.js';
import { labelOf, type JsonSchema } from '../../schema/json-schema.js';
import { draftOf } from './mqtt-fields.js';
import { MqttFields } from './MqttFields.js';
import { keyInput, newThingparkMqtt, thingparkFieldSchema, thingparkMqttFields, TRANSPORT_FIELDS, transportOf, type Transport } from './thingpark-fields.js';

interface Props {
  appId: string;
  /** The `thingpark` part of the settings schema in /manifest.json. */
  schema: JsonSchema;
  /** The draft connection: `as_key` and `mqtt.password` only when new ones were entered. */
  value: Partial<Connection>;
  problems: Record<string, string>;
  /** The connection as saved: whether a key and a broker password are stored (never what they are). */
  saved: ThingparkView | undefined;
  /** The saved broker connection's state, live (over MQTT). */
  connection: ConnectionStatus | null;
  /** Changes when the profile was saved: what to paste follows the saved settings. */
  savedAt: string;
  onChange(value: Partial<Connection>): void;
}

/** The "ThingPark settings" tab: what to set in ThingPark, then the connection (saved with the profile). */
export function ThingparkSettings(props: Props) {
  const { saved } = props;
  return (
    <div class="stack">
      {saved?.transport === 'mqtt' && saved.mqtt ? (
        <MqttSetupCard mqtt={saved.mqtt} />
      ) : (
        <ThingparkSetupCard appId={props.appId} savedAt={props.savedAt} keySet={saved?.as_key_set === true} />
      )}
      <ConnectionCard {...props} />
    </div>
  );
}

const TRANSPORTS: { transport: Transport; name: string; hint: string }[] = [
  { transport: 'http', name: 'HTTP tunnel interface', hint: 'ThingPark posts its reports here, signed with the tunnel key; downlinks go to the LRC.' },
  {
    transport: 'mqtt',
    name: 'MQTT through your broker',
    hint: 'ThingPark’s MQTT connector publishes to your broker and the plugin subscribes there; downlinks go out on the same broker. No tunnel key or LRC URL.',
  },
];

function ConnectionCard({ schema, value, problems, saved, connection, onChange }: Props) {
  const transport = transportOf(value);
  const keySet = saved?.as_key_set === true;
  const passwordSet = saved?.mqtt?.password_set === true;
  const choose = (next: Transport) => {
    if (next === 'mqtt') return onChange({ ...value, transport: next, mqtt: (value.mqtt ?? newThingparkMqtt(schema)) as Connection['mqtt'] });
    // Back to HTTP: the broker settings go back to what is saved (an unfinished one would not save).
    const { mqtt: _draft, ...rest } = value;
    onChange({ ...rest, transport: next, ...(saved?.mqtt ? { mqtt: draftOf(saved.mqtt) } : {}) });
  };
  return (
    <section class="card" aria-labelledby="tp-connection-title">
      <header class="card-header">
        <h2 id="tp-connection-title">ThingPark connection</h2>
        {transport === 'http' ? (
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
        ) : (
          <p class="hint">How the plugin reaches your broker, where ThingPark’s MQTT connector publishes. Saved with the profile.</p>
        )}
      </header>
      {saved?.transport === 'mqtt' && saved.mqtt && <ConnectionLine status={connection} />}
      <div class="fields">
        <div class="field">
          <span class="field-label" id="thingpark-transport-label">
            Transport
          </span>
          <div class="field-control choices" role="radiogroup" aria-labelledby="thingpark-transport-label">
            {TRANSPORTS.map((t) => (
              <div key={t.transport} class={`choice${transport === t.transport ? ' choice-selected' : ''}`}>
                <label>
                  <input
                    type="radio"
                    name="thingpark-transport"
                    value={t.transport}
                    checked={transport === t.transport}
                    aria-describedby={`thingpark-transport-${t.transport}-hint`}
                    onChange={() => choose(t.transport)}
                  />
                  <span class="choice-name">{t.name}</span>
                </label>
                <p class="hint" id={`thingpark-transport-${t.transport}-hint`}>
                  {t.hint}
                </p>
              </div>
            ))}
          </div>
        </div>
        {TRANSPORT_FIELDS[transport].map((key) => (
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
        {transport === 'mqtt' && (
          <MqttFields
            schema={schema.properties?.mqtt ?? {}}
            fields={thingparkMqttFields(passwordSet)}
            value={value.mqtt ?? {}}
            path="/thingpark/mqtt"
            problems={problems}
            passwordSet={passwordSet}
            onChange={(mqtt) => onChange({ ...value, mqtt: mqtt as Connection['mqtt'] })}
          />
        )}
      </div>
      {problems['/thingpark/mqtt'] && <p class="field-error">{problems['/thingpark/mqtt']}</p>}
    </section>
  );
}

/** What to set in ThingPark's MQTT connector: the broker and the topic patterns, as saved. */
function MqttSetupCard({ mqtt }: { mqtt: MqttView<ThingparkMqttSettings> }) {
  return (
    <section class="card" aria-labelledby="tp-setup-title">
      <header class="card-header">
        <h2 id="tp-setup-title">Connect ThingPark</h2>
        <p class="hint">
          In ThingPark, set up the MQTT connector to publish to your broker with these topic patterns. ThingPark connects as its own broker user; {'{DevEUI}'} is each
          device’s EUI.
        </p>
      </header>
      <dl class="kv">
        <dt>Broker</dt>
        <dd class="copyable">
          <code>{mqtt.url}</code>
          <CopyButton text={mqtt.url} label="Copy broker URL" />
        </dd>
        <dt>uplinkTopicPattern</dt>
        <dd class="copyable">
          <code>{mqtt.uplink_topic}</code>
          <CopyButton text={mqtt.uplink_topic} label="Copy uplink topic pattern" />
        </dd>
        <dt>downlinkTopicPattern</dt>
        <dd class="copyable">
          <code>{mqtt.downlink_topic}</code>
          <CopyButton text={mqtt.downlink_topic} label="Copy downlink topic pattern" />
        </dd>
      </dl>
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

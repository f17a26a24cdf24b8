import type { ConnectionStatus, TtsMqttSettings as Connection, TtsMqttView } from '../../api/types.js';
import { ConnectionLine } from '../../components/ConnectionStatus.js';
import { SchemaField } from '../../components/SchemaField.js';
import type { JsonSchema } from '../../schema/json-schema.js';
import type { FieldText } from './mqtt-fields.js';
import { MqttFields } from './MqttFields.js';

interface Props {
  appId: string;
  isDefault: boolean;
  /** The `tts_mqtt` part of the settings schema in /manifest.json. */
  schema: JsonSchema;
  /** The draft connection (`password` only when a new key was entered); undefined: none. */
  value: Partial<Connection> | undefined;
  /** The connection as saved. */
  saved: TtsMqttView | undefined;
  problems: Record<string, string>;
  /** The saved connection's state, live. */
  connection: ConnectionStatus | null;
  onChange(value: Partial<Connection> | undefined): void;
}

const fieldsFor = (appId: string, passwordSet: boolean): [string, FieldText][] => [
  [
    'url',
    {
      title: 'URL',
      description: 'The MQTT server of your TTS cluster, as the TTS Console shows it under Integrations › MQTT: mqtts://host:8883 (TLS) or mqtt://host:1883.',
      placeholder: 'mqtts://eu1.cloud.thethings.network:8883',
    },
  ],
  ['username', { title: 'User name', description: `{app}@{tenant}: the application ID and its tenant, e.g. ${appId}@ttn on The Things Network.`, placeholder: `${appId}@ttn` }],
  [
    'password',
    {
      title: 'API key',
      description: `An API key of the application with the rights to read its traffic and write downlinks. Write-only: never shown again${passwordSet ? '; leave this empty to keep the stored key' : ''}.`,
    },
  ],
  ['ca', { title: 'CA certificate', description: 'Optional: PEM certificate(s) to trust besides the system’s, for a TTS deployment with a private CA (mqtts:// only).', placeholder: '-----BEGIN CERTIFICATE-----' }],
];

const SWITCH: JsonSchema = {
  type: 'boolean',
  title: 'Connect over MQTT',
  description: 'Take this application’s uplinks from TTS’s MQTT server and send its downlinks there, beside or instead of the webhook.',
};

/** The MQTT section of a TTS profile's Webhook settings: a switch, the broker fields, and the connection's state. */
export function TtsMqttSettings({ appId, isDefault, schema, value, saved, problems, connection, onChange }: Props) {
  return (
    <section class="card" aria-labelledby="tts-mqtt-title">
      <header class="card-header">
        <h2 id="tts-mqtt-title">MQTT (The Things Stack’s MQTT server)</h2>
        {!isDefault && <p class="hint">The plugin connects to TTS as a client of the application’s MQTT server. Saved with the profile.</p>}
      </header>
      {isDefault ? (
        <p class="muted">Not for the Default profile: an MQTT connection is one application’s, so add a profile for the application to connect it over MQTT.</p>
      ) : (
        <>
          {saved && <ConnectionLine status={connection} />}
          <div class="fields">
            <SchemaField
              name="enabled"
              schema={SWITCH}
              value={value?.enabled === true}
              idPrefix="tts_mqtt"
              onChange={(on) => {
                if (on === true) onChange(value ? { ...value, enabled: true } : { enabled: true, url: '', username: '', ca: null });
                // Turned off before it was ever saved: nothing to keep.
                else onChange(saved ? { ...value, enabled: false } : undefined);
              }}
            />
            {value && (
              <MqttFields
                schema={schema}
                fields={fieldsFor(appId, saved?.password_set === true)}
                value={value}
                path="/tts_mqtt"
                problems={problems}
                passwordSet={saved?.password_set === true}
                onChange={(next) => onChange(next as Partial<Connection>)}
              />
            )}
          </div>
          {problems['/tts_mqtt'] && <p class="field-error">{problems['/tts_mqtt']}</p>}
        </>
      )}
    </section>
  );
}

import { SchemaField } from '../../components/SchemaField.js';
import type { JsonSchema } from '../../schema/json-schema.js';
import type { FieldText } from './mqtt-fields.js';

interface Props {
  /** The connection's object schema from /manifest.json (`tts_mqtt`, `thingpark.mqtt`). */
  schema: JsonSchema;
  /** The fields shown, in order, with their texts. */
  fields: [key: string, text: FieldText][];
  /** The draft: `password` only when a new one was entered. */
  value: Record<string, unknown>;
  /** JSON pointer of the connection (`/tts_mqtt`): problems are keyed below it. */
  path: string;
  problems: Record<string, string>;
  /** Whether the plugin holds a password for this connection (it never returns it). */
  passwordSet: boolean;
  onChange(value: Record<string, unknown>): void;
}

/** A broker connection's fields (inside the caller's `.fields`): URL, user name, the write-only password, the CA, and any topics. */
export function MqttFields({ schema, fields, value, path, problems, passwordSet, onChange }: Props) {
  return (
    <>
      {fields.map(([key, text]) => (
        <SchemaField
          key={key}
          name={key}
          schema={{ ...(schema.properties?.[key] ?? {}), title: text.title, ...(text.description ? { description: text.description } : {}) }}
          value={value[key]}
          problem={problems[`${path}/${key}`]}
          idPrefix={path.slice(1).replace(/\//g, '-')}
          multiline={key === 'ca'}
          {...(key === 'password' && passwordSet ? { placeholder: 'stored — leave empty to keep' } : text.placeholder ? { placeholder: text.placeholder } : {})}
          onChange={(v) => {
            const next: Record<string, unknown> = { ...value, [key]: v };
            // An empty password field keeps the stored password: the save then sends none.
            if (key === 'password' && v === '') delete next.password;
            onChange(next);
          }}
        />
      ))}
    </>
  );
}

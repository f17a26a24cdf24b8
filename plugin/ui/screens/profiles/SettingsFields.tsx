import type { Json } from '../../api/types.js';
import { SchemaField } from '../../components/SchemaField.js';
import type { JsonSchema } from '../../schema/json-schema.js';

/** Every property of an object schema as a field, in schema order; `path` is its JSON pointer. */
export function SettingsFields(props: {
  schema: JsonSchema;
  value: Record<string, unknown>;
  path: string;
  problems: Record<string, string>;
  onChange(value: Record<string, unknown>): void;
  only?: string[];
  /** Labels above controls, fields side by side (toolbars). */
  inline?: boolean;
}) {
  const entries = Object.entries(props.schema.properties ?? {}).filter(([key]) => !props.only || props.only.includes(key));
  return (
    <div class={props.inline ? 'fields fields-inline' : 'fields'}>
      {entries.map(([key, sub]) => (
        <SchemaField
          key={key}
          name={key}
          schema={sub}
          value={props.value[key]}
          problem={props.problems[`${props.path}/${key}`]}
          idPrefix={props.path.replace(/\//g, '-').slice(1) || 'field'}
          onChange={(v: Json) => props.onChange({ ...props.value, [key]: v })}
        />
      ))}
    </div>
  );
}

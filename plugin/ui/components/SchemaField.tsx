import { useEffect, useState } from 'preact/hooks';
import type { Json } from '../api/types.js';
import { constraintsOf, fieldOf, labelOf, type JsonSchema } from '../schema/json-schema.js';

interface Props {
  name: string;
  schema: JsonSchema;
  value: unknown;
  onChange(value: Json): void;
  /** Client-side or server-side problem of this field. */
  problem?: string | undefined;
  idPrefix: string;
  /** Overrides the schema-derived placeholder (e.g. a stored secret: "leave empty to keep"). */
  placeholder?: string;
  /** A text of several lines (a PEM certificate): a textarea instead of a one-line input. */
  multiline?: boolean;
}

/** One settings field, rendered from its JSON Schema: control, description, constraints, problem. */
export function SchemaField({ name, schema, value, onChange, problem, idPrefix, placeholder, multiline }: Props) {
  const field = fieldOf(schema);
  const id = `${idPrefix}-${name}`;
  const label = labelOf(name, schema);
  const constraints = constraintsOf(schema);
  const describedBy = [schema.description || constraints ? `${id}-hint` : '', problem ? `${id}-problem` : ''].filter(Boolean).join(' ');
  const a11y = { id, ...(describedBy ? { 'aria-describedby': describedBy } : {}), 'aria-invalid': problem ? true : undefined };

  const hint = (schema.description || constraints) && (
    <p class="hint" id={`${id}-hint`}>
      {schema.description}
      {schema.description && constraints ? ' ' : ''}
      {constraints && <span class="constraints">{constraints}</span>}
    </p>
  );
  const problemText = problem && (
    <p class="field-error" id={`${id}-problem`}>
      {label} {problem}
    </p>
  );

  let control;
  switch (field.kind) {
    case 'boolean':
      control = (
        <span class="switch">
          <input type="checkbox" role="switch" {...a11y} checked={value === true} onChange={(e) => onChange(e.currentTarget.checked)} />
          <span class="switch-track" aria-hidden="true" />
        </span>
      );
      break;
    case 'enum':
      control = (
        <select {...a11y} value={typeof value === 'string' ? value : ''} onChange={(e) => onChange(e.currentTarget.value)}>
          {field.options.map((o) => (
            <option key={o} value={o}>
              {o}
            </option>
          ))}
        </select>
      );
      break;
    case 'integer':
      control = (
        <input
          {...a11y}
          type="number"
          inputMode="numeric"
          step={1}
          {...(field.min !== undefined ? { min: field.min } : {})}
          {...(field.max !== undefined ? { max: field.max } : {})}
          placeholder={placeholder ?? (field.nullable ? 'none' : '')}
          value={typeof value === 'number' ? String(value) : typeof value === 'string' ? value : ''}
          onInput={(e) => {
            const text = e.currentTarget.value.trim();
            const n = Number(text);
            onChange(text === '' ? (field.nullable ? null : '') : Number.isInteger(n) ? n : text);
          }}
        />
      );
      break;
    case 'string': {
      const text = {
        ...a11y,
        spellcheck: false,
        ...(field.maxLength !== undefined ? { maxLength: field.maxLength } : {}),
        placeholder: placeholder ?? (field.nullable ? 'none' : ''),
        value: typeof value === 'string' ? value : '',
        onInput: (e: { currentTarget: { value: string } }) => {
          const next = e.currentTarget.value;
          onChange(next === '' && field.nullable ? null : next);
        },
      };
      control = multiline ? (
        <textarea {...text} class="mono" rows={4} />
      ) : (
        <input
          {...text}
          type={field.secret ? 'password' : field.format === 'uri' ? 'url' : 'text'}
          // A write-only secret: never offered from or saved to the browser's password store.
          autoComplete={field.secret ? 'new-password' : 'off'}
        />
      );
      break;
    }
    case 'object':
      control = <JsonObjectInput a11y={a11y} value={value} onChange={onChange} />;
      break;
  }

  return (
    <div class="field">
      <label class="field-label" for={id}>
        {label}
      </label>
      <div class="field-control">
        {control}
        {hint}
        {problemText}
      </div>
    </div>
  );
}

const parseObject = (text: string): Json | undefined => {
  try {
    const v = JSON.parse(text) as Json;
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? v : undefined;
  } catch {
    return undefined;
  }
};

/** A JSON object as text; while the text does not parse, the field holds the text (and shows a problem). */
function JsonObjectInput(props: { a11y: Record<string, unknown>; value: unknown; onChange(value: Json): void }) {
  const [text, setText] = useState(() => JSON.stringify(props.value ?? {}, null, 2));
  useEffect(() => {
    const current = parseObject(text);
    if (typeof props.value === 'object' && JSON.stringify(current) !== JSON.stringify(props.value)) {
      setText(JSON.stringify(props.value, null, 2));
    }
  }, [props.value]);
  return (
    <textarea
      {...props.a11y}
      class="mono"
      rows={Math.min(Math.max(text.split('\n').length, 3), 12)}
      spellcheck={false}
      value={text}
      onInput={(e) => {
        const next = e.currentTarget.value;
        setText(next);
        props.onChange(parseObject(next) ?? next);
      }}
    />
  );
}

/**
 * TTS normalized payloads: measurements in the Device Repository's shared vocabulary
 * (`air.temperature`, `soil.moisture`, …), what a codec's `normalizeUplink` returns. Validated field
 * by field the way The Things Stack does (lorawan-stack pkg/messageprocessors/normalizedpayload):
 * a value out of range is dropped with a warning `measurement N: …`; with the fields of the
 * Device Repository's current schema (lorawan-devices lib/payload.json). Two differences, both the
 * issue's: an unknown field or a value of the wrong type is dropped with a warning instead of
 * failing the whole uplink, and a normalizer's errors fail the normalization but not the decoded data.
 */
import { boundWarnings } from './bounds.js';
import type { FormatterError, JsonObject, Normalized } from './contract.js';
import { ttsEnvelope, uplinkOutput, type ScriptStyle } from './javascript-output.js';
import { describeValue, isJsonObject, success, type Outcome } from './outcome.js';

interface NumberField {
  kind: 'number';
  unit: string;
  description: string;
  minimum?: number;
  maximum?: number;
  exclusiveMaximum?: number;
}
interface ChoiceField {
  kind: 'enum';
  description: string;
  values: readonly string[];
}
interface PlainField {
  kind: 'boolean' | 'boolean-or-string' | 'time' | 'object';
  description: string;
}
export type QuantityField = NumberField | ChoiceField | PlainField;

const temperature = (description: string): NumberField => ({ kind: 'number', unit: '°C', description, minimum: -273.15 });
const percentage = (description: string): NumberField => ({ kind: 'number', unit: '%', description, minimum: 0, maximum: 100 });
const concentration = (description: string): NumberField => ({ kind: 'number', unit: 'ppm', description, minimum: 0, maximum: 1_000_000 });
const object = (description: string): PlainField => ({ kind: 'object', description });

/** Every field a measurement may have, by its dotted path. */
export const MEASUREMENT_FIELDS: Readonly<Record<string, QuantityField>> = {
  time: { kind: 'time', description: 'Date and time of the measurement (RFC 3339)' },
  battery: { kind: 'number', unit: 'V', description: 'Battery voltage', minimum: 0 },
  soil: object('Soil'),
  'soil.depth': { kind: 'number', unit: 'cm', description: 'Depth of the soil measurement', minimum: 0 },
  'soil.moisture': percentage('Soil moisture'),
  'soil.temperature': temperature('Soil temperature'),
  'soil.ec': { kind: 'number', unit: 'dS/m', description: 'Soil electrical conductivity', minimum: 0, maximum: 621 },
  'soil.pH': { kind: 'number', unit: 'pH', description: 'Soil pH level', minimum: 0, maximum: 14 },
  'soil.n': concentration('Nitrogen in the soil'),
  'soil.p': concentration('Phosphorus in the soil'),
  'soil.k': concentration('Potassium in the soil'),
  air: object('Air'),
  'air.location': { kind: 'enum', description: 'Indoor or outdoor', values: ['indoor', 'outdoor'] },
  'air.temperature': temperature('Air temperature'),
  'air.relativeHumidity': percentage('Relative humidity'),
  'air.pressure': { kind: 'number', unit: 'hPa', description: 'Atmospheric pressure', minimum: 900, maximum: 1100 },
  'air.co2': concentration('CO2 in the air'),
  'air.lightIntensity': { kind: 'number', unit: 'lux', description: 'Light intensity', minimum: 0 },
  wind: object('Wind'),
  'wind.speed': { kind: 'number', unit: 'm/s', description: 'Wind speed', minimum: 0 },
  'wind.direction': { kind: 'number', unit: '°', description: 'Wind direction', minimum: 0, exclusiveMaximum: 360 },
  water: object('Water'),
  'water.leak': { kind: 'boolean-or-string', description: 'Leak detected' },
  'water.temperature': object('Water temperature'),
  'water.temperature.min': temperature('Minimum water temperature'),
  'water.temperature.max': temperature('Maximum water temperature'),
  'water.temperature.avg': temperature('Average water temperature'),
  'water.temperature.current': temperature('Current water temperature'),
  metering: object('Metering'),
  'metering.water': object('Water metering'),
  'metering.water.total': { kind: 'number', unit: 'L', description: 'Total water volume' },
  action: object('Action'),
  'action.motion': object('Motion'),
  'action.motion.detected': { kind: 'boolean', description: 'Motion detected' },
  'action.motion.count': { kind: 'number', unit: 'count', description: 'Number of motion events' },
  'action.contactState': { kind: 'enum', description: 'State of a contact sensor', values: ['open', 'closed'] },
  position: object('Position'),
  'position.latitude': { kind: 'number', unit: '°', description: 'Latitude' },
  'position.longitude': { kind: 'number', unit: '°', description: 'Longitude' },
};

/** The quantities a measurement can carry: every leaf field but `time`. */
export const QUANTITIES: readonly string[] = Object.keys(MEASUREMENT_FIELDS).filter(
  (path) => path !== 'time' && MEASUREMENT_FIELDS[path].kind !== 'object',
);

/** Measurements kept from one uplink; a buffered sensor sends a few dozen at most. */
export const MAX_MEASUREMENTS = 64;
/** Quantity values of one uplink indexed for GET /api/measurements (each is a row written with the uplink). */
export const MAX_MEASUREMENT_VALUES = 256;

type Problem = { fatal: boolean; message: string };

const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)$/i;

function fieldProblem(path: string, field: QuantityField, value: unknown): Problem | null {
  const wrongType = { fatal: true, message: `invalid field type of \`${path}\`` };
  switch (field.kind) {
    case 'object':
      return isJsonObject(value) ? null : wrongType;
    case 'boolean':
      return typeof value === 'boolean' ? null : wrongType;
    case 'boolean-or-string':
      return typeof value === 'boolean' || typeof value === 'string' ? null : wrongType;
    case 'time':
      if (typeof value !== 'string') return wrongType;
      return RFC3339.test(value) && Number.isFinite(Date.parse(value)) ? null : { fatal: true, message: `\`${path}\` is not an RFC 3339 date-time` };
    case 'enum':
      if (typeof value !== 'string') return wrongType;
      return field.values.includes(value) ? null : { fatal: false, message: `\`${path}\` should be one of ${field.values.map((v) => `\`${v}\``).join(', ')}` };
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value)) return wrongType;
      if (field.minimum !== undefined && value < field.minimum) return { fatal: false, message: `\`${path}\` should be equal or greater than \`${field.minimum}\`` };
      if (field.maximum !== undefined && value > field.maximum) return { fatal: false, message: `\`${path}\` should be equal or less than \`${field.maximum}\`` };
      if (field.exclusiveMaximum !== undefined && value >= field.exclusiveMaximum) return { fatal: false, message: `\`${path}\` should be less than \`${field.exclusiveMaximum}\`` };
      return null;
  }
}

/**
 * The valid fields of one measurement, and what was dropped. `fatal` problems (unknown fields,
 * wrong types) are what TTS fails on; the caller decides whether they drop a field or the measurement.
 */
function parseMeasurement(source: JsonObject, prefix: string, problems: Problem[]): JsonObject {
  const valid: JsonObject = {};
  for (const [key, value] of Object.entries(source)) {
    const path = prefix + key;
    const field = Object.hasOwn(MEASUREMENT_FIELDS, path) ? MEASUREMENT_FIELDS[path] : undefined;
    if (!field) {
      problems.push({ fatal: true, message: `unknown field \`${path}\`` });
      continue;
    }
    const problem = fieldProblem(path, field, value);
    if (problem) {
      problems.push(problem);
      continue;
    }
    if (field.kind !== 'object') {
      valid[key] = value;
      continue;
    }
    const nested = parseMeasurement(value as JsonObject, `${path}.`, problems);
    if (Object.keys(nested).length > 0) valid[key] = nested;
  }
  return valid;
}

/**
 * Validates measurements. `lenient` (a normalizer's output): every problem drops its field with a
 * warning. Strict (decoded data taken as a measurement): an unknown field or a wrong type means it
 * is not one, and the result is null.
 */
export function parseMeasurements(list: readonly unknown[], lenient: boolean): Normalized | null {
  const measurements: JsonObject[] = [];
  const warnings: string[] = [];
  for (let i = 0; i < list.length; i++) {
    const item = list[i];
    if (i >= MAX_MEASUREMENTS) {
      warnings.push(`measurements after the ${MAX_MEASUREMENTS}th dropped (${list.length} returned)`);
      break;
    }
    if (!isJsonObject(item)) {
      if (!lenient) return null;
      warnings.push(`measurement ${i + 1}: must be an object, got ${describeValue(item)}`);
      continue;
    }
    const problems: Problem[] = [];
    const valid = parseMeasurement(item, '', problems);
    if (!lenient && problems.some((p) => p.fatal)) return null;
    for (const p of problems) warnings.push(`measurement ${i + 1}: ${p.message}`);
    if (Object.keys(valid).length > 0) measurements.push(valid);
  }
  return { measurements, warnings };
}

/** What `normalizeUplink` returned: `{data: object | object[], warnings?, errors?}`. */
export function normalizerOutput(value: unknown): Normalized {
  const envelope = ttsEnvelope('normalizeUplink', value, '{data, warnings?, errors?}');
  if (!envelope.ok) return { measurements: [], warnings: envelope.warnings, error: envelope.error };
  const { warnings } = envelope;
  const data = envelope.output.data;
  // TTS: no data, no normalized payload, and no failure either.
  if (data === undefined || data === null) return { measurements: [], warnings };
  if (!Array.isArray(data) && !isJsonObject(data)) {
    const message = `normalizeUplink output.data must be an object or an array of objects, got ${describeValue(data)}`;
    return { measurements: [], warnings, error: { kind: 'contract', message } };
  }
  const parsed = parseMeasurements(Array.isArray(data) ? data : [data], true) as Normalized;
  return { measurements: parsed.measurements, warnings: [...warnings, ...parsed.warnings] };
}

/** Without a normalizer, decoded data that already is a measurement is one (as in TTS); otherwise undefined. */
export function decodedAsNormalized(data: JsonObject): Normalized | undefined {
  // Most decoded data is no measurement, which its first unknown key says before anything is built.
  for (const key of Object.keys(data)) if (!Object.hasOwn(MEASUREMENT_FIELDS, key)) return undefined;
  const parsed = parseMeasurements([data], false);
  return parsed && parsed.measurements.length > 0 ? parsed : undefined;
}

/** Measurements a network already normalized (TTS `normalized_payload`): validated and bounded like a normalizer's. */
export function networkNormalized(list: readonly unknown[], warnings: readonly unknown[]): Normalized {
  const parsed = parseMeasurements(list, true) as Normalized;
  const theirs = warnings.map((w) => (typeof w === 'string' ? w : JSON.stringify(w)));
  return { measurements: parsed.measurements, warnings: boundWarnings([...theirs, ...parsed.warnings]) };
}

/** One stored value of a measurement: its quantity path and value (a number, boolean or string). */
export interface QuantityValue {
  quantity: string;
  value: number | boolean | string;
}

/** The leaf values of a valid measurement, flattened to their quantity paths. */
export function quantityValues(measurement: JsonObject, prefix = ''): QuantityValue[] {
  const out: QuantityValue[] = [];
  for (const [key, value] of Object.entries(measurement)) {
    const path = prefix + key;
    if (path === 'time') continue;
    if (isJsonObject(value)) out.push(...quantityValues(value, `${path}.`));
    else if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'string') out.push({ quantity: path, value });
  }
  return out;
}

/** The unit of a quantity, '' for those without one (booleans, choices). */
export function unitOf(quantity: string): string {
  const field = Object.hasOwn(MEASUREMENT_FIELDS, quantity) ? MEASUREMENT_FIELDS[quantity] : undefined;
  return field?.kind === 'number' ? field.unit : '';
}

/** An uplink formatter's data and the measurements normalized from it. */
export interface DecodedUplink {
  data: JsonObject;
  normalized?: Normalized;
}

/** The reply of a script with normalizeUplink (prelude.js `normalizingJson`). */
interface NormalizingReply {
  decoded?: unknown;
  normalized?: unknown;
  thrown?: [string, string];
  unfit?: string;
}

/**
 * What an uplink formatter returned, with its normalization: the normalizer's when the script has
 * one (`normalizing`), else the data itself when it is a measurement.
 */
export function decodedUplink(
  style: ScriptStyle,
  normalizing: boolean,
  value: unknown,
  thrownError: (head: string, stack: string) => FormatterError,
): Outcome<DecodedUplink> {
  if (!normalizing) {
    const decoded = uplinkOutput(style, value);
    if (!decoded.ok) return decoded;
    const normalized = decodedAsNormalized(decoded.output);
    return success(normalized ? { data: decoded.output, normalized } : { data: decoded.output }, decoded.warnings);
  }
  const reply: NormalizingReply = isJsonObject(value) ? value : {};
  const decoded = uplinkOutput(style, reply.decoded);
  if (!decoded.ok) return decoded;
  const data = decoded.output;
  let normalized: Normalized;
  if (reply.thrown) normalized = { measurements: [], warnings: [], error: thrownError(reply.thrown[0], reply.thrown[1]) };
  else if (reply.unfit !== undefined) normalized = { measurements: [], warnings: [], error: { kind: 'contract', message: `normalizeUplink ${reply.unfit}` } };
  else normalized = normalizerOutput(reply.normalized);
  return success({ data, normalized }, decoded.warnings);
}

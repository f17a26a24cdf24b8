import { Type, type Static } from '@sinclair/typebox';
import { CODEC_SECTIONS, MAX_CODEC_YAML_CHARS } from '../../formatters/codec-examples.js';
import { FormatterSettingsSchema } from './profile.js';

/** `POST /api/formatters/examples`: a Device Repository codec run against its YAML's examples, nothing stored. */
export const CodecExamplesSchema = Type.Object(
  {
    /** The application whose profile gives the time limit (Default when left out). */
    app_id: Type.Optional(Type.String({ minLength: 1, maxLength: 36 })),
    script: Type.String({ minLength: 1, maxLength: FormatterSettingsSchema.properties.script.maxLength }),
    yaml: Type.String({ minLength: 1, maxLength: MAX_CODEC_YAML_CHARS }),
    // Without the profile schema's default, so that leaving it out means "the profile's".
    timeout_ms: Type.Optional(Type.Integer({ minimum: 1, maximum: FormatterSettingsSchema.properties.timeout_ms.maximum })),
  },
  { additionalProperties: false },
);
export type CodecExamplesRequest = Static<typeof CodecExamplesSchema>;

const Bytes = Type.Array(Type.Integer({ minimum: 0, maximum: 255 }));
const Messages = Type.Array(Type.String());
const JsonObject = Type.Record(Type.String(), Type.Unknown());

/** A routine's output in the Device Repository's terms (formatters/codec-examples.ts `CodecOutput`). */
const CodecOutputSchema = Type.Object({
  data: Type.Optional(Type.Union([JsonObject, Type.Array(JsonObject)])),
  bytes: Type.Optional(Bytes),
  fPort: Type.Optional(Type.Integer()),
  warnings: Type.Optional(Messages),
  errors: Type.Optional(Messages),
});

const ExampleOutputSchema = Type.Composite([CodecOutputSchema, Type.Object({ normalizedOutput: Type.Optional(CodecOutputSchema) })]);

const CodecExampleResultSchema = Type.Object({
  section: Type.Union(CODEC_SECTIONS.map((s) => Type.Literal(s))),
  /** Position in its section's examples. */
  index: Type.Integer(),
  description: Type.String(),
  ok: Type.Boolean(),
  /** decoders `{bytes, fPort, recvTime?}`, the encoder `{data, fPort?}`, as in the YAML. */
  input: Type.Union([
    Type.Object({ bytes: Bytes, fPort: Type.Integer(), recvTime: Type.Optional(Type.String()) }),
    Type.Object({ data: JsonObject, fPort: Type.Optional(Type.Integer()) }),
  ]),
  expected: ExampleOutputSchema,
  /** What the codec gave, in the expected's terms; null when it was not run. */
  actual: Type.Union([ExampleOutputSchema, Type.Null()]),
  /** JSON Pointer paths into expected and actual; a side left out is missing there. */
  differences: Type.Array(Type.Object({ path: Type.String(), expected: Type.Optional(Type.Unknown()), actual: Type.Optional(Type.Unknown()) })),
  /** Why the call failed, or why it was not run (the script does not compile, the time ran out). */
  error: Type.Optional(
    Type.Object({
      kind: Type.String({ description: 'syntax, runtime, timeout, memory, contract, limit, crash or suspended' }),
      message: Type.String(),
      line: Type.Optional(Type.Integer()),
      column: Type.Optional(Type.Integer()),
    }),
  ),
  logs: Type.Array(Type.Object({ level: Type.Union([Type.Literal('log'), Type.Literal('info'), Type.Literal('warn'), Type.Literal('error')]), message: Type.String() })),
  warnings: Messages,
});
export type CodecExampleResult = Static<typeof CodecExampleResultSchema>;

export const CodecExamplesAnswerSchema = Type.Object({
  /** Every example passed. */
  ok: Type.Boolean(),
  counts: Type.Object({ passed: Type.Integer(), failed: Type.Integer() }),
  examples: Type.Array(CodecExampleResultSchema),
});
export type CodecExamplesAnswer = Static<typeof CodecExamplesAnswerSchema>;

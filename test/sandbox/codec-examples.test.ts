/**
 * Device Repository codec YAML: read safely into example cases, and an outcome judged against an
 * example as TTS's runner judges it (formatters/codec-examples.ts has the rules).
 */
import { describe, expect, it } from 'vitest';
import { exampleDifferences, parseCodecExamples, type CodecExample } from '../../formatters/codec-examples.js';

function examples(yaml: string): CodecExample[] {
  const parsed = parseCodecExamples(yaml);
  if (!parsed.ok) throw new Error(parsed.problem.message);
  return parsed.examples;
}

function problem(yaml: string) {
  const parsed = parseCodecExamples(yaml);
  if (parsed.ok) throw new Error('the YAML was taken');
  return parsed.problem;
}

describe('parseCodecExamples', () => {
  it('reads the three sections into cases, hex bytes as numbers, index per section', () => {
    const cases = examples(`
uplinkDecoder:
  fileName: codec.js
  examples:
    - description: Temperature and humidity
      input:
        fPort: 1
        bytes: [0x00, 0xE7, 0x50]
      output:
        data:
          temperature: 23.1
          humidity: 40
        warnings: []
      normalizedOutput:
        data:
          air:
            temperature: 23.1
    - description: Unknown port
      input: { fPort: 2, bytes: [1], recvTime: '2020-08-02T20:00:00.000+05:00' }
      output:
        errors: ['unknown fPort 2']
      hardwareVersions: ['1.0']
downlinkEncoder:
  fileName: codec.js
  examples:
    - input:
        data: { interval_minutes: 600, led: true }
      output:
        bytes: [1, 2, 88, 1]
        fPort: 3
downlinkDecoder:
  examples:
    - description: Set interval
      input: { fPort: 3, bytes: [1, 2, 88, 1] }
      output:
        data: { interval_minutes: 600, led: true }
`);
    expect(cases).toEqual([
      {
        section: 'uplinkDecoder',
        index: 0,
        description: 'Temperature and humidity',
        input: { fPort: 1, bytes: [0, 231, 80] },
        // one measurement is a list of one, as TTS's runner makes of it
        expected: { data: { temperature: 23.1, humidity: 40 }, warnings: [], normalizedOutput: { data: [{ air: { temperature: 23.1 } }] } },
      },
      {
        section: 'uplinkDecoder',
        index: 1,
        description: 'Unknown port',
        input: { fPort: 2, bytes: [1], recvTime: '2020-08-02T20:00:00.000+05:00' },
        expected: { errors: ['unknown fPort 2'] },
      },
      { section: 'downlinkEncoder', index: 0, description: '', input: { data: { interval_minutes: 600, led: true } }, expected: { bytes: [1, 2, 88, 1], fPort: 3 } },
      { section: 'downlinkDecoder', index: 0, description: 'Set interval', input: { fPort: 3, bytes: [1, 2, 88, 1] }, expected: { data: { interval_minutes: 600, led: true } } },
    ]);
  });

  it('keeps plain scalars plain: no YAML 1.1 booleans, octals or timestamps', () => {
    const [example] = examples(`
downlinkEncoder:
  examples:
    - input: { data: { mode: on, code: 0777, at: 2020-01-01, id: 0o17 } }
      output: { bytes: [1] }
`);
    expect(example.input).toEqual({ data: { mode: 'on', code: 777, at: '2020-01-01', id: 15 } });
  });

  it.each([
    ['uplinkDecoder.examples[0].input.bytes must be an array of integers 0..255', 'uplinkDecoder:\n  examples:\n    - input: {fPort: 1, bytes: [1, 0x100]}\n      output: {data: {}}\n'],
    ['downlinkEncoder.examples[0].output.bytes must be an array of integers 0..255', 'downlinkEncoder:\n  examples:\n    - input: {data: {}}\n      output: {bytes: [-1]}\n'],
    ['downlinkDecoder.examples[0].input.bytes must have at most 256 bytes', `downlinkDecoder:\n  examples:\n    - input: {fPort: 1, bytes: [${Array(257).fill(0).join(',')}]}\n      output: {data: {}}\n`],
    ['downlinkEncoder.examples[0].input.data must be a mapping', 'downlinkEncoder:\n  examples:\n    - input: {data: [1]}\n      output: {bytes: [1]}\n'],
    ['downlinkDecoder.examples[0].output.warnings must be a list of strings', 'downlinkDecoder:\n  examples:\n    - input: {fPort: 1, bytes: [1]}\n      output: {data: {}, warnings: [1]}\n'],
    ['uplinkDecoder.examples[0].normalizedOutput.data must be a mapping or a list of mappings', 'uplinkDecoder:\n  examples:\n    - input: {fPort: 1, bytes: [1]}\n      output: {data: {}}\n      normalizedOutput: {data: [1]}\n'],
    ['uplinkDecoder.examples must be a list', 'uplinkDecoder:\n  examples: {}\n'],
    ["uplinkDecoder has an unknown key 'script' (known: fileName, examples)", 'uplinkDecoder:\n  script: codec.js\n'],
    ["downlinkDecoder.examples[0].input has an unknown key 'recvTime' (known: bytes, fPort)", 'downlinkDecoder:\n  examples:\n    - input: {fPort: 1, bytes: [1], recvTime: x}\n      output: {data: {}}\n'],
    ['uplinkDecoder must be a mapping (of fileName, examples)', 'uplinkDecoder:\n'],
    ['the codec YAML is empty', ''],
    ['the codec YAML is longer than 65536 characters', 'x'.repeat(64 * 1024 + 1)],
    ['the codec YAML nests deeper than 64 levels', `a: ${'['.repeat(65)}1${']'.repeat(65)}`],
  ])('refuses: %s', (message, yaml) => {
    expect(problem(yaml).message).toBe(message);
  });

  it('does not count brackets in quotes, comments or plain text as nesting', () => {
    const b = '['.repeat(100);
    const [example] = examples(
      `# ${b}\nuplinkDecoder:\n  examples:\n    - description: "${b}" # ${b}\n      input: {fPort: 1, bytes: [1]}\n      output:\n        data:\n          note: '${b}'\n          plain: a ${b}\n`,
    );
    expect(example).toMatchObject({ description: b, expected: { data: { note: b, plain: `a ${b}` } } });
  });

  it('refuses an alias bomb, and takes a few anchors', () => {
    let bomb = 'a: &a [x, x, x, x, x, x, x, x, x]\n';
    for (let i = 1; i < 10; i++) bomb += `${'abcdefghij'[i]}: &${'abcdefghij'[i]} [${Array(9).fill(`*${'abcdefghij'[i - 1]}`).join(', ')}]\n`;
    expect(problem(bomb).message).toBe('YAML: aliases expand to more than 100 nodes');
    const cases = examples('downlinkDecoder:\n  examples:\n    - input: &in {fPort: 3, bytes: [1]}\n      output: {data: {a: 1}}\n    - input: *in\n      output: {errors: [x]}\n');
    expect(cases[1].input).toEqual({ fPort: 3, bytes: [1] });
  });

  it('tells where a YAML error is', () => {
    expect(problem('uplinkDecoder:\n  examples:\n  - a\n - b\n')).toMatchObject({ message: expect.stringMatching(/^YAML: /), line: 4 });
    expect(problem('a: 1\nb:\n  c: 1\n  c: 2\n')).toEqual({ message: "YAML: the key 'c' appears twice in one mapping", line: 4, column: 3 });
  });
});

describe('exampleDifferences', () => {
  it('compares data deeply: members in any order, numbers exactly', () => {
    expect(exampleDifferences({ data: { a: 1, b: { c: [1, 2] } } }, { data: { b: { c: [1, 2] }, a: 1 }, warnings: [] })).toEqual([]);
    expect(exampleDifferences({ data: { t: 23.1 } }, { data: { t: 23.099999999999998 } })).toEqual([{ path: '/data/t', expected: 23.1, actual: 23.099999999999998 }]);
    expect(exampleDifferences({ data: { 'a/b': [1] } }, { data: { 'a/b': [1, 2] } })).toEqual([{ path: '/data/a~1b/1', expected: undefined, actual: 2 }]);
  });

  it('takes missing warnings for none, and an empty list for none too', () => {
    expect(exampleDifferences({ data: {} }, { data: {}, warnings: [] })).toEqual([]);
    expect(exampleDifferences({ data: {}, warnings: [] }, { data: {} })).toEqual([]);
    expect(exampleDifferences({ data: {} }, { data: {}, warnings: ['low battery'] })).toEqual([{ path: '/warnings/0', expected: undefined, actual: 'low battery' }]);
    expect(exampleDifferences({ data: {}, warnings: ['a'] }, { data: {}, warnings: ['b'] })).toEqual([{ path: '/warnings/0', expected: 'a', actual: 'b' }]);
  });

  it('takes expected errors as a failure with exactly those errors, joined by ", "; data then is not compared', () => {
    expect(exampleDifferences({ errors: ['a', 'b'] }, { errors: ['a, b'], warnings: [] })).toEqual([]);
    expect(exampleDifferences({ errors: ['a'] }, { errors: ['a, b'] })).toEqual([{ path: '/errors', expected: ['a'], actual: ['a, b'] }]);
    expect(exampleDifferences({ errors: ['a'] }, { data: { x: 1 } })).toEqual([{ path: '/errors', expected: ['a'], actual: undefined }]);
    expect(exampleDifferences({ errors: [''] }, { data: {} })).toEqual([{ path: '/errors', expected: [''], actual: undefined }]);
    expect(exampleDifferences({ data: { x: 1 }, errors: ['a'] }, { errors: ['a'] })).toEqual([]);
    expect(exampleDifferences({ data: { x: 1 }, errors: [] }, { errors: ['a'] })).toEqual([
      { path: '/errors', expected: [], actual: ['a'] },
      { path: '/data', expected: { x: 1 }, actual: undefined },
    ]);
  });

  it('compares bytes in order, and fPort only when expected', () => {
    expect(exampleDifferences({ bytes: [1, 2] }, { bytes: [1, 2], fPort: 3 })).toEqual([]);
    expect(exampleDifferences({ bytes: [1, 2], fPort: 4 }, { bytes: [2, 1], fPort: 3 })).toEqual([
      { path: '/bytes/0', expected: 1, actual: 2 },
      { path: '/bytes/1', expected: 2, actual: 1 },
      { path: '/fPort', expected: 4, actual: 3 },
    ]);
  });

  it('compares normalizedOutput by the same rules when the example has one', () => {
    const expected = { data: { t: 1 }, normalizedOutput: { data: [{ air: { temperature: 1 } }] } };
    expect(exampleDifferences(expected, { data: { t: 1 }, normalizedOutput: { data: [{ air: { temperature: 1 } }], warnings: [] } })).toEqual([]);
    expect(exampleDifferences(expected, { data: { t: 1 } })).toEqual([{ path: '/normalizedOutput', expected: expected.normalizedOutput, actual: undefined }]);
    expect(exampleDifferences(expected, { data: { t: 1 }, normalizedOutput: { data: [], warnings: ['measurement 1: x'] } })).toEqual([
      { path: '/normalizedOutput/data/0', expected: { air: { temperature: 1 } }, actual: undefined },
      { path: '/normalizedOutput/warnings/0', expected: undefined, actual: 'measurement 1: x' },
    ]);
    expect(exampleDifferences({ data: {} }, { data: {}, normalizedOutput: { data: [{ battery: 3 }] } })).toEqual([]);
  });
});

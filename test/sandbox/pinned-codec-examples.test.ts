/**
 * Rules of formatters/codec-examples.ts found unpinned by mutation testing: each test names the
 * behaviour it fixes.
 */
import { describe, expect, it } from 'vitest';
import { exampleDifferences, parseCodecExamples, type CodecExample, type CodecYamlProblem } from '../../formatters/codec-examples.js';

function examples(yaml: string): CodecExample[] {
  const parsed = parseCodecExamples(yaml);
  if (!parsed.ok) throw new Error(parsed.problem.message);
  return parsed.examples;
}

function problem(yaml: string): CodecYamlProblem {
  const parsed = parseCodecExamples(yaml);
  if (parsed.ok) throw new Error('the YAML was taken');
  return parsed.problem;
}

/** `leaf` inside `levels` lists, one in another. */
function nested(levels: number, leaf: unknown): unknown {
  let value = leaf;
  for (let i = 0; i < levels; i++) value = [value];
  return value;
}

/** A downlinkEncoder YAML whose one example's input data is `dataLines` (YAML lines indented 10). */
function encoderWithData(dataLines: string): string {
  return `downlinkEncoder:\n  examples:\n    - input:\n        data:\n${dataLines}\n      output: {bytes: [1]}\n`;
}

/** A downlinkDecoder YAML of one example, its members given as YAML lines indented 6. */
function decoderExample(lines: string): string {
  return `downlinkDecoder:\n  examples:\n    - description: one\n${lines}\n`;
}

describe('size bound', () => {
  it('takes a YAML of exactly 64 KiB', () => {
    const yaml = 'downlinkDecoder:\n  examples:\n    - input: {fPort: 1, bytes: [1]}\n      output: {data: {}}\n';
    const padded = `${yaml}#${'x'.repeat(64 * 1024 - yaml.length - 2)}\n`;
    expect(padded.length).toBe(64 * 1024);
    expect(examples(padded)).toHaveLength(1);
  });
});

describe('nesting bound: levels on one line', () => {
  it('takes 64 sequences nested on one line (`- - … - x`)', () => {
    const [example] = examples(encoderWithData(`          list:\n            ${'- '.repeat(64)}x`));
    expect(example.input).toEqual({ data: { list: nested(64, 'x') } });
  });

  it('refuses 65 sequences nested on one line', () => {
    expect(problem(encoderWithData(`          list:\n            ${'- '.repeat(65)}x`))).toEqual({ message: 'the codec YAML nests deeper than 64 levels' });
  });

  it('counts nested explicit keys (`? ? … x`) as levels', () => {
    expect(problem(`${'? '.repeat(65)}x\n`)).toEqual({ message: 'the codec YAML nests deeper than 64 levels' });
  });

  it('counts nested value indicators (`: : … x`) as levels', () => {
    expect(problem(`${': '.repeat(65)}x\n`)).toEqual({ message: 'the codec YAML nests deeper than 64 levels' });
  });

  it('counts flow mappings as levels, as flow sequences are', () => {
    expect(problem(`a: ${'{'.repeat(64)}${'}'.repeat(64)}\n`)).toEqual({ message: 'the codec YAML nests deeper than 64 levels' });
  });

  it('does not count the colons of a one-line flow mapping of many members as nesting', () => {
    const members = Array.from({ length: 70 }, (_, i) => `k${i}: ${i}`).join(', ');
    const [example] = examples(encoderWithData(`          all: {${members}}`));
    expect(example.input).toEqual({ data: { all: Object.fromEntries(Array.from({ length: 70 }, (_, i) => [`k${i}`, i])) } });
  });

  it('does not let brackets closed earlier in the file hide deeper nesting later', () => {
    expect(problem(`a: [[1]]\nb: ${'['.repeat(64)}${']'.repeat(64)}\n`)).toEqual({ message: 'the codec YAML nests deeper than 64 levels' });
  });

  it.each([
    ['LF', '\n'],
    ['CRLF', '\r\n'],
  ])('counts levels per line with %s line ends: a long YAML of many keys is no nesting', (_, end) => {
    const lines = ['downlinkDecoder:', '  examples:'];
    for (let i = 0; i < 30; i++) lines.push('    - input: {fPort: 1, bytes: [1]}', `      output: {data: {n: ${i}}}`);
    const cases = examples(lines.join(end) + end);
    expect(cases).toHaveLength(30);
    expect(cases[29].expected).toEqual({ data: { n: 29 } });
  });
});

describe('nesting bound: lines that each nest further right (bug fix)', () => {
  it('refuses, before the YAML parser overflows its stack, 30 lines of 63 nested sequences each indented under the last', () => {
    let yaml = '';
    for (let line = 0; line < 30; line++) yaml += `${' '.repeat(line * 126)}${'- '.repeat(63).trimEnd()}\n`;
    yaml += `${' '.repeat(30 * 126)}x\n`;
    expect(yaml.length).toBeLessThanOrEqual(64 * 1024);
    // twice: a second such parse in one process aborted it (V8 out of memory in its RegExp compiler)
    expect(problem(yaml)).toEqual({ message: "the codec YAML has a '-' past column 256: it nests or indents too deep" });
    expect(problem(yaml)).toEqual({ message: "the codec YAML has a '-' past column 256: it nests or indents too deep" });
  });

  it("takes a key whose ':' stands at column 256, and refuses one at column 257", () => {
    const key = 'k'.repeat(256 - 10 - 1);
    const [example] = examples(encoderWithData(`          ${key}: 1`));
    expect(example.input).toEqual({ data: { [key]: 1 } });
    expect(problem(encoderWithData(`          ${key}k: 1`))).toEqual({ message: "the codec YAML has a ':' past column 256: it nests or indents too deep" });
  });

  it('measures columns from the line start, whatever came before on earlier lines', () => {
    const long = 'x'.repeat(300);
    const [example] = examples(encoderWithData(`          note: "${long}"\n          block: |\n            a\n            ${long}\n          after: 1`));
    expect(example.input).toEqual({ data: { note: long, block: `a\n${long}\n`, after: 1 } });
  });
});

describe('aliases (bug fix)', () => {
  it('refuses an alias to an anchor set only after it as unresolved, not as an alias bomb', () => {
    const yaml = 'downlinkDecoder:\n  examples:\n    - input: *in\n      output: {data: {}}\n    - input: &in {fPort: 1, bytes: [1]}\n      output: {data: {}}\n';
    expect(problem(yaml)).toEqual({ message: expect.stringMatching(/^YAML: Unresolved alias .*: in$/) });
  });
});

describe('YAML errors', () => {
  it('tells a YAML error in one line of text, its place given apart as line and column', () => {
    expect(problem('a: b: c\n')).toEqual({ message: 'YAML: Nested mappings are not allowed in compact mappings', line: 1, column: 4 });
  });
});

describe('refusals of the document as a whole (no path)', () => {
  it.each(['', '# only a comment\n'])('refuses an empty YAML (%j) as empty', (yaml) => {
    expect(problem(yaml)).toEqual({ message: 'the codec YAML is empty' });
  });

  it.each(['uplinkDecoder:\n  fileName: codec.js\n', 'uplinkDecoder:\n  examples: []\n'])('refuses a YAML without examples (%j)', (yaml) => {
    expect(problem(yaml)).toEqual({ message: 'the codec YAML has no examples to run' });
  });

  it('refuses a YAML that is not a mapping, naming the sections it should have', () => {
    expect(problem('- uplinkDecoder\n')).toEqual({ message: 'the codec YAML must be a mapping (of uplinkDecoder, downlinkEncoder, downlinkDecoder)' });
  });

  it('refuses a misspelt section with the section as the path', () => {
    expect(problem('uplinkDecoders:\n  examples: []\n')).toEqual({
      path: 'uplinkDecoders',
      message: "the codec YAML has an unknown key 'uplinkDecoders' (known: uplinkDecoder, downlinkEncoder, downlinkDecoder)",
    });
  });
});

describe('refusals of a section or an example, with the path of what is wrong', () => {
  const input = '      input: {fPort: 1, bytes: [1]}';
  const output = '      output: {data: {}}';

  it.each<[string, string, CodecYamlProblem]>([
    [
      'a fileName that is not a string',
      `uplinkDecoder:\n  fileName: 3\n  examples:\n    - ${input.trim()}\n${output}\n`,
      { path: 'uplinkDecoder.fileName', message: 'uplinkDecoder.fileName must be a string' },
    ],
    ['examples that are not a list', 'uplinkDecoder:\n  examples: {}\n', { path: 'uplinkDecoder.examples', message: 'uplinkDecoder.examples must be a list' }],
    [
      'a description that is not a string',
      `downlinkDecoder:\n  examples:\n    - ${input.trim()}\n${output}\n    - description: 5\n${input}\n${output}\n`,
      { path: 'downlinkDecoder.examples[1].description', message: 'downlinkDecoder.examples[1].description must be a string' },
    ],
    [
      'hardwareVersions that are not a list of strings',
      decoderExample(`${input}\n${output}\n      hardwareVersions: '1.0'`),
      { path: 'downlinkDecoder.examples[0].hardwareVersions', message: 'downlinkDecoder.examples[0].hardwareVersions must be a list of strings' },
    ],
    [
      'a recvTime that is no date',
      `uplinkDecoder:\n  examples:\n    - input: {fPort: 1, bytes: [1], recvTime: yesterday}\n${output}\n`,
      { path: 'uplinkDecoder.examples[0].input.recvTime', message: 'uplinkDecoder.examples[0].input.recvTime must be a date and time (RFC 3339)' },
    ],
    [
      // Date.parse would take 2024 as the year: a number is refused for not being text, not for its value.
      'a recvTime that is a number a date could be read from',
      `uplinkDecoder:\n  examples:\n    - input: {fPort: 1, bytes: [1], recvTime: 2024}\n${output}\n`,
      { path: 'uplinkDecoder.examples[0].input.recvTime', message: 'uplinkDecoder.examples[0].input.recvTime must be a date and time (RFC 3339)' },
    ],
    [
      'a recvTime that is a number',
      `uplinkDecoder:\n  examples:\n    - input: {fPort: 1, bytes: [1], recvTime: 1596380400}\n${output}\n`,
      { path: 'uplinkDecoder.examples[0].input.recvTime', message: 'uplinkDecoder.examples[0].input.recvTime must be a date and time (RFC 3339)' },
    ],
    [
      'encoder input data that is not a mapping',
      'downlinkEncoder:\n  examples:\n    - input: {data: [1]}\n      output: {bytes: [1]}\n',
      { path: 'downlinkEncoder.examples[0].input.data', message: 'downlinkEncoder.examples[0].input.data must be a mapping' },
    ],
    [
      'an encoder input fPort 0',
      'downlinkEncoder:\n  examples:\n    - input: {data: {}, fPort: 0}\n      output: {bytes: [1]}\n',
      { path: 'downlinkEncoder.examples[0].input.fPort', message: 'downlinkEncoder.examples[0].input.fPort must be an integer 1..255' },
    ],
    [
      'an encoder output fPort 256',
      'downlinkEncoder:\n  examples:\n    - input: {data: {}}\n      output: {bytes: [1], fPort: 256}\n',
      { path: 'downlinkEncoder.examples[0].output.fPort', message: 'downlinkEncoder.examples[0].output.fPort must be an integer 1..255' },
    ],
    [
      'a decoder output with neither data nor errors',
      decoderExample(`${input}\n      output: {warnings: [w]}`),
      { path: 'downlinkDecoder.examples[0].output.data', message: 'downlinkDecoder.examples[0].output must have data, or errors' },
    ],
    [
      'an encoder output with neither bytes nor errors',
      'downlinkEncoder:\n  examples:\n    - input: {data: {}}\n      output: {fPort: 2}\n',
      { path: 'downlinkEncoder.examples[0].output.bytes', message: 'downlinkEncoder.examples[0].output must have bytes, or errors' },
    ],
    [
      'decoder output data that is not a mapping',
      decoderExample(`${input}\n      output: {data: [1]}`),
      { path: 'downlinkDecoder.examples[0].output.data', message: 'downlinkDecoder.examples[0].output.data must be a mapping' },
    ],
    [
      'output errors that are not a list of strings',
      decoderExample(`${input}\n      output: {errors: bad}`),
      { path: 'downlinkDecoder.examples[0].output.errors', message: 'downlinkDecoder.examples[0].output.errors must be a list of strings' },
    ],
    [
      'a normalizedOutput with neither data nor errors',
      `uplinkDecoder:\n  examples:\n    - ${input.trim()}\n${output}\n      normalizedOutput: {warnings: [w]}\n`,
      { path: 'uplinkDecoder.examples[0].normalizedOutput.data', message: 'uplinkDecoder.examples[0].normalizedOutput must have data, or errors' },
    ],
    [
      'a normalizedOutput whose errors are an empty list, and no data',
      `uplinkDecoder:\n  examples:\n    - ${input.trim()}\n${output}\n      normalizedOutput: {errors: []}\n`,
      { path: 'uplinkDecoder.examples[0].normalizedOutput.data', message: 'uplinkDecoder.examples[0].normalizedOutput must have data, or errors' },
    ],
    [
      'normalizedOutput data with one member that is not a mapping',
      `uplinkDecoder:\n  examples:\n    - ${input.trim()}\n${output}\n      normalizedOutput: {data: [{air: {temperature: 1}}, 1]}\n`,
      { path: 'uplinkDecoder.examples[0].normalizedOutput.data', message: 'uplinkDecoder.examples[0].normalizedOutput.data must be a mapping or a list of mappings' },
    ],
    [
      'a normalizedOutput outside uplinkDecoder',
      decoderExample(`${input}\n${output}\n      normalizedOutput: {data: {}}`),
      {
        path: 'downlinkDecoder.examples[0].normalizedOutput',
        message: "downlinkDecoder.examples[0] has an unknown key 'normalizedOutput' (known: description, input, output, hardwareVersions)",
      },
    ],
  ])('refuses %s', (_, yaml, expected) => {
    expect(problem(yaml)).toEqual(expected);
  });
});

describe('accepted edges and shapes', () => {
  it('takes fPort 255 and a frame of exactly 256 bytes', () => {
    const bytes = Array.from({ length: 256 }, (_, i) => i % 256);
    const [example] = examples(`downlinkDecoder:\n  examples:\n    - input: {fPort: 255, bytes: [${bytes.join(', ')}]}\n      output: {data: {}}\n`);
    expect(example.input).toEqual({ fPort: 255, bytes });
  });

  it('takes an encoder example that expects errors and no bytes', () => {
    const [example] = examples("downlinkEncoder:\n  examples:\n    - input: {data: {interval: -1}}\n      output: {errors: ['interval must be positive']}\n");
    expect(example.expected).toEqual({ errors: ['interval must be positive'] });
  });

  it('takes a normalizedOutput with warnings beside its data', () => {
    const [example] = examples(
      'uplinkDecoder:\n  examples:\n    - input: {fPort: 1, bytes: [1]}\n      output: {data: {t: 1}}\n      normalizedOutput: {data: {air: {temperature: 1}}, warnings: [estimated]}\n',
    );
    expect(example.expected.normalizedOutput).toEqual({ data: [{ air: { temperature: 1 } }], warnings: ['estimated'] });
  });

  it('takes an encoder example whose expected bytes come with warnings', () => {
    const [example] = examples('downlinkEncoder:\n  examples:\n    - input: {data: {}}\n      output: {bytes: [1], fPort: 2, warnings: [rounded]}\n');
    expect(example.expected).toEqual({ bytes: [1], fPort: 2, warnings: ['rounded'] });
  });

  it('takes a normalizedOutput that expects errors and no data', () => {
    const [example] = examples(
      "uplinkDecoder:\n  examples:\n    - input: {fPort: 1, bytes: [1]}\n      output: {data: {t: 1}}\n      normalizedOutput: {errors: ['no measurement']}\n",
    );
    expect(example.expected.normalizedOutput).toEqual({ errors: ['no measurement'] });
  });
});

describe('exampleDifferences: errors', () => {
  it('takes errors given as separate entries as the same errors as their ", "-joined text, on either side', () => {
    expect(exampleDifferences({ errors: ['a', 'b'] }, { errors: ['a', 'b'] })).toEqual([]);
    expect(exampleDifferences({ errors: ['a, b'] }, { errors: ['a', 'b'] })).toEqual([]);
  });
});

import type { CodecExampleResult } from '../../api/types.js';
import { Badge } from '../../components/Badge.js';
import { ConsoleLog } from '../../components/ConsoleLog.js';
import { JsonComparison } from '../../components/JsonComparison.js';
import { LineLink } from './LineLink.js';

const SECTION_NAMES: Record<CodecExampleResult['section'], string> = {
  uplinkDecoder: 'Uplink decoder',
  downlinkEncoder: 'Downlink encoder',
  downlinkDecoder: 'Downlink decoder',
};

/** The input as one line: bytes in hex (as the YAML usually writes them), or the data to encode. */
function inputText(input: CodecExampleResult['input']): string {
  if ('bytes' in input) {
    const hex = input.bytes.map((b) => b.toString(16).toUpperCase().padStart(2, '0')).join(' ');
    return `fPort ${input.fPort} · ${hex || 'no bytes'}${input.recvTime ? ` · ${input.recvTime}` : ''}`;
  }
  return `${input.fPort !== undefined ? `fPort ${input.fPort} · ` : ''}${JSON.stringify(input.data)}`;
}

/** One example of the codec YAML: passed, or expected against actual with the differences marked. */
export function CodecExampleItem({ example, onReveal }: { example: CodecExampleResult; onReveal(line: number, column?: number): void }) {
  const name = `${SECTION_NAMES[example.section]} example ${example.index + 1}`;
  const label = `${name}${example.description ? `: ${example.description}` : ''}`;
  return (
    <li class="run">
      <div class="run-head">
        <Badge tone={example.ok ? 'ok' : 'error'}>{example.ok ? 'passed' : 'failed'}</Badge>
        <strong>{name}</strong>
        {example.description && <span>{example.description}</span>}
      </div>
      <p class="sub mono example-input">Input: {inputText(example.input)}</p>
      {example.error && (
        <div class="error-note">
          <strong>{example.error.kind} error: </strong>
          {example.error.message}
          <LineLink line={example.error.line} column={example.error.column} onReveal={onReveal} />
        </div>
      )}
      {!example.ok && (
        <JsonComparison
          left={{ title: 'Expected (YAML)', name: 'expected', value: example.expected }}
          right={{ title: example.actual ? 'Actual (script)' : 'Actual: not run', name: 'actual', value: example.actual }}
          differences={example.differences}
          label={label}
        />
      )}
      {example.logs.length > 0 && (
        <details class="disclosure">
          <summary>Console ({example.logs.length})</summary>
          <ConsoleLog logs={example.logs} label={`${label}: console logs`} />
        </details>
      )}
    </li>
  );
}

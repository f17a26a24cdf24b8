import type { Severity } from '../../api/types.js';
import { Badge, type Tone } from '../../components/Badge.js';

const TONES: Record<Severity, Tone> = { debug: 'muted', info: 'info', warning: 'warn', error: 'error' };

export function SeverityBadge({ severity }: { severity: Severity }) {
  return <Badge tone={TONES[severity]}>{severity}</Badge>;
}

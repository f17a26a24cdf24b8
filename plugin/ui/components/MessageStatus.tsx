import type { MessageStatus as Status } from '../api/types.js';
import { Badge, type Tone } from './Badge.js';

const TONES: Record<Status, Tone> = { PENDING: 'warn', DELIVERED: 'ok', FAILED: 'error', TIMEOUT: 'muted' };

/** A downlink's status with its detail (queued, sent, acknowledged…). */
export function MessageStatus({ status, detail }: { status: Status; detail?: string }) {
  return (
    <Badge tone={TONES[status]} {...(detail ? { title: detail.replace(/_/g, ' ') } : {})}>
      {status}
    </Badge>
  );
}

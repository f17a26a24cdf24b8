import type { FormatterError, FormatterSpec, JsonObject, LogEntry } from '../../formatters/contract.js';
import { jsonDifferences, type Difference } from '../../formatters/json-diff.js';
import type { FormatterPool } from '../../sandbox/formatter-pool.js';
import { DomainError } from '../domain-error.js';
import type { NeutralUplink } from '../networks/network.js';
import type { Networks } from '../networks/networks.js';
import { formatterSpec, type Profiles } from '../profiles.js';
import type { RecentTest } from '../schemas/formatter-test.js';
import type { RecentUplink } from '../store/records.js';
import type { Store } from '../store/store.js';
import { formatterCall } from './uplink.js';

export type RecentStatus = 'same' | 'changed' | 'failed';

export interface RecentRun {
  seq: number;
  device_id: string;
  received_at: string;
  f_port: number;
  formatter_version: number | null;
  status: RecentStatus;
  /** What was stored then (null: it became a dead letter, with `stored_error`). */
  stored: JsonObject | null;
  stored_error: JsonObject | null;
  output: JsonObject | null;
  error: FormatterError | null;
  warnings: string[];
  logs: LogEntry[];
  /** stored against output, when both are there. */
  differences: Difference[];
}

export interface RecentTestAnswer {
  app_id: string;
  counts: Record<RecentStatus, number> & { total: number };
  items: RecentRun[];
}

/**
 * A formatter (saved or not) over an application's recent uplinks as they arrived, in the production
 * sandbox (test mode: a scratch process, no suspension counts), each output set against what was
 * stored then. Nothing is stored.
 */
export async function runOnRecentUplinks(
  deps: { formatters: FormatterPool; profiles: Profiles; networks: Networks; store: Store },
  req: RecentTest,
): Promise<RecentTestAnswer> {
  const appId = req.app_id;
  const profile = await deps.profiles.resolve(appId);
  const spec: FormatterSpec = formatterSpec(req.formatter ? { ...profile.settings, formatter: req.formatter } : profile.settings);
  const problem = await deps.formatters.check(appId, spec);
  if (problem) {
    throw new DomainError('invalid', 'formatter_invalid', `formatter: ${problem.message}`, {
      kind: problem.kind,
      ...(problem.line !== undefined ? { line: problem.line, column: problem.column } : {}),
    });
  }
  const recent = await deps.store.listRecentUplinks(appId, req.limit ?? 200);
  // One after another, so those not started within the budget fail with a `limit` error instead of
  // holding the request (a call costs the scratch process ~1 ms besides the formatter's own time).
  const until = Date.now() + RECENT_TEST_BUDGET_MS;
  const items: RecentRun[] = [];
  for (const r of recent) items.push(await rerun(deps, appId, spec, r, until));
  const counts = { same: 0, changed: 0, failed: 0, total: items.length };
  for (const item of items) counts[item.status]++;
  return { app_id: appId, counts, items };
}

/** Wall time of one run on recent uplinks (up to 200 formatter calls of up to 5 s each). */
export const RECENT_TEST_BUDGET_MS = 20_000;

async function rerun(deps: { formatters: FormatterPool; networks: Networks }, appId: string, spec: FormatterSpec, r: RecentUplink, until: number): Promise<RecentRun> {
  const stored = 'data' in r.outcome ? r.outcome.data : null;
  const base = {
    seq: r.seq,
    device_id: r.deviceId,
    received_at: r.receivedAt,
    formatter_version: r.formatterVersion,
    stored,
    stored_error: 'error' in r.outcome ? r.outcome.error : null,
  };
  const failed = (fPort: number, error: FormatterError): RecentRun => ({ ...base, f_port: fPort, status: 'failed', output: null, error, warnings: [], logs: [], differences: [] });
  // A row the network no longer reads as an uplink (its rules changed since) fails alone, not the run.
  let uplink: NeutralUplink | null = null;
  try {
    uplink = deps.networks.get(r.network).uplinkOf(JSON.parse(r.report) as JsonObject, appId, new Date(r.receivedAt));
  } catch (err) {
    return failed(0, { kind: 'contract', message: `the stored report is no uplink any more: ${err instanceof Error ? err.message.slice(0, 300) : 'unreadable'}` });
  }
  if (!uplink) return failed(0, { kind: 'contract', message: 'the stored report is no uplink' });
  if (Date.now() > until) return failed(uplink.fPort, { kind: 'limit', message: `not run: the run took longer than ${RECENT_TEST_BUDGET_MS / 1000} s` });
  const report = await deps.formatters.runUplink(appId, spec, formatterCall(uplink), 'test');
  const output = report.ok && report.output ? report.output : null;
  const differences = output && stored ? jsonDifferences(stored, output) : [];
  const status: RecentStatus = !output ? 'failed' : stored && differences.length === 0 ? 'same' : 'changed';
  return {
    ...base,
    f_port: uplink.fPort,
    status,
    output,
    error: output ? null : (report.error ?? { kind: 'contract', message: 'formatter returned nothing' }),
    warnings: report.warnings,
    logs: report.logs,
    differences,
  };
}

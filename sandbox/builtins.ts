/**
 * The formatters that are the plugin's own code (`none`, `cayennelpp`): they run where they are
 * called, in the plugin or in a formatter process, and never need a sandbox.
 */
import { cayenneDecodeDownlink, cayenneDownlink, cayenneUplink } from '../formatters/cayennelpp.js';
import type {
  DecodeDownlinkCall,
  DownlinkCall,
  DownlinkOutput,
  FormatterType,
  JsonObject,
  RunReport,
  UplinkCall,
  UplinkReport,
} from '../formatters/contract.js';
import { decodedAsNormalized } from '../formatters/normalized-payload.js';
import { noneDecodeDownlink, noneDownlink, noneUplink } from '../formatters/none.js';
import { success } from '../formatters/outcome.js';
import { runReport, uplinkReport } from './run-report.js';

export type BuiltinType = Exclude<FormatterType, 'javascript'>;

export function builtinUplink(type: BuiltinType, call: UplinkCall): UplinkReport {
  const started = performance.now();
  const outcome = type === 'none' ? noneUplink(call) : cayenneUplink(call);
  if (!outcome.ok) return uplinkReport(runReport(started, outcome));
  const normalized = decodedAsNormalized(outcome.output);
  return uplinkReport(runReport(started, success(normalized ? { data: outcome.output, normalized } : { data: outcome.output }, outcome.warnings)));
}

export function builtinDownlink(type: BuiltinType, call: DownlinkCall): RunReport<DownlinkOutput> {
  const started = performance.now();
  return runReport(started, type === 'none' ? noneDownlink(call) : cayenneDownlink(call));
}

export function builtinDecodeDownlink(type: BuiltinType, call: DecodeDownlinkCall): RunReport<JsonObject> {
  const started = performance.now();
  return runReport(started, type === 'none' ? noneDecodeDownlink(call) : cayenneDecodeDownlink(call));
}

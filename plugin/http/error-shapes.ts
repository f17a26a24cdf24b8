import { iotdaError } from '../iotda.js';
import type { HttpError } from './http-error.js';

/** Our one error shape. */
export function pluginError(err: HttpError): Record<string, unknown> {
  return { error: { code: err.code, message: err.message, details: err.details } };
}

/** IoTDA-compatible paths answer in IoTDA's error shape, everything else in ours. */
export function errorShapeFor(path: string): (err: HttpError) => Record<string, unknown> {
  return path.startsWith('/v5/iot/') ? iotdaError : pluginError;
}

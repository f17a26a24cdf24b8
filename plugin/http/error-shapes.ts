import type { HttpError } from './http-error.js';

/** Our one error shape. */
export function pluginError(err: HttpError): Record<string, unknown> {
  return { error: { code: err.code, message: err.message, details: err.details } };
}

/** IoTDA's `{"error_code","error_msg"}` (reference B.4); a duplicate message id has no documented code, so it is invalid input. */
export function iotdaError(err: HttpError): Record<string, unknown> {
  let code = 'IOTDA.000006';
  if (err.status === 401) code = 'APIGW.0301';
  else if (err.code === 'invalid_json' || err.status === 415) code = 'IOTDA.000008';
  else if (err.status === 404 && err.details.device !== undefined) code = 'IOTDA.014000';
  else if (err.status === 404) code = 'IOTDA.000013';
  else if (err.status >= 500) code = 'IOTDA.000001';
  return { error_code: code, error_msg: err.message };
}

/** IoTDA-compatible paths answer in IoTDA's error shape, everything else in ours. */
export function errorShapeFor(path: string): (err: HttpError) => Record<string, unknown> {
  return path.startsWith('/v5/iot/') ? iotdaError : pluginError;
}

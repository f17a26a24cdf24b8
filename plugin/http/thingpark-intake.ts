import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { HttpError } from './http-error.js';
import { intakeAnswers } from './intake-answers.js';
import type { ThingparkReports } from '../networks/thingpark/thingpark-reports.js';
import { THINGPARK_BODY_LIMIT_BYTES } from '../networks/thingpark/report.js';

/**
 * The query as the LRC meant it: percent-decoded, a `+` left a plus (a Time offset sent unencoded
 * stays an offset, where URLSearchParams would make it a space and every token wrong).
 */
function queryOf(search: string): URLSearchParams {
  const query = new URLSearchParams();
  for (const pair of search.split('&')) {
    if (!pair) continue;
    const eq = pair.indexOf('=');
    const decode = (s: string) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    };
    query.append(decode(eq < 0 ? pair : pair.slice(0, eq)), decode(eq < 0 ? '' : pair.slice(eq + 1)));
  }
  return query;
}


/** `/thingpark/{app_id}`, in any case, with an optional trailing slash. */
const REPORT_PATH = /^\/thingpark\/([^/]{1,100})\/?$/i;

/**
 * ThingPark reports straight from node:http, in front of Koa (whose body parser takes JSON only:
 * these come as JSON or XML). Takes every request to a report path: POST with a body within the
 * limit; other methods 405, larger bodies 413, both in the one error shape.
 */
export function thingparkIntake(deps: { reports: ThingparkReports; logger: Logger; refused?: (status: number) => void }) {
  return (req: IncomingMessage, res: ServerResponse): boolean => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const match = REPORT_PATH.exec(path);
    if (!match) return false;
    const { answer, fail } = intakeAnswers(res, path, deps);
    if (req.method !== 'POST') {
      req.resume();
      fail(new HttpError(405, 'method_not_allowed', `${req.method} is not allowed on ${path}`, { allow: 'POST' }, { Allow: 'POST' }));
      return true;
    }
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > THINGPARK_BODY_LIMIT_BYTES) {
      fail(new HttpError(413, 'payload_too_large', 'request body exceeds the size limit'));
      req.resume();
      return true;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('error', () => res.destroy());
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > THINGPARK_BODY_LIMIT_BYTES) {
        done = true;
        fail(new HttpError(413, 'payload_too_large', 'request body exceeds the size limit'));
        // Whatever else comes is not read: the connection goes once the answer is out.
        res.on('finish', () => req.destroy());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (done) return;
      done = true;
      let appId: string;
      try {
        appId = decodeURIComponent(match[1]);
      } catch {
        return fail(new HttpError(400, 'invalid_app_id', 'the application id in the path is not valid percent-encoding'));
      }
      deps.reports
        .handle({
          appId,
          query: queryOf(q < 0 ? '' : url.slice(q + 1)),
          body: Buffer.concat(chunks, size).toString('utf8'),
          contentType: req.headers['content-type'],
          remoteAddress: req.socket.remoteAddress ?? '',
        })
        .then((a) => answer(a.status, a.body), fail);
    });
    return true;
  };
}

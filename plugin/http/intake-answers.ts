import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { errorAnswer } from './errors.js';
import { SECURITY_HEADERS } from './security-headers.js';

/** How an intake in front of Koa answers: JSON with the security headers, errors in the one error shape (as Koa's handler would). */
export function intakeAnswers(res: ServerResponse, path: string, deps: { logger: Logger; refused?: ((status: number) => void) | undefined }) {
  const answer = (status: number, body: unknown, headers: Record<string, string> = {}) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { ...SECURITY_HEADERS, ...headers, 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  };
  const fail = (err: unknown) => {
    const a = errorAnswer(err, path, deps.logger);
    deps.refused?.(a.status);
    answer(a.status, a.body, a.headers);
  };
  return { answer, fail };
}

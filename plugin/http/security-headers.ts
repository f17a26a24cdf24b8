import type { Context, Next } from 'koa';

/**
 * The Content-Security-Policy of every answer. The UI is one same-origin bundle (no inline script,
 * no eval, no third-party origin), so scripts, stylesheets, fetches, images and fonts come from
 * 'self' only. Styles are the one exception, checked in Chromium (test/ui/csp.e2e.test.ts):
 * - CodeMirror (style-mod) mounts its themes as `<style>` elements in the document, filled at run
 *   time with generated class names, so no hash fits them; a nonce would make index.html differ per
 *   answer (no precompressed or revalidated copy). So `<style>` elements may be inline
 *   ('unsafe-inline' in style-src). What that still allows is little: the UI renders no markup from
 *   data (no innerHTML), and injected CSS could not send anything out, since images, fonts and
 *   fetches reach only 'self' (and data: images).
 * - `style="..."` attributes are allowed by the same 'unsafe-inline': the formatter editor's
 *   CodeMirror writes one on the Payload processing tab.
 * - img-src allows data: for the SVG icons inlined in the stylesheets (select arrows, search, lint
 *   markers).
 * - frame-ancestors 'none' (and X-Frame-Options for older browsers) stops clickjacking; object-src
 *   'none' and base-uri 'none' close plugin content and <base> tricks; form-action 'self' keeps a
 *   form (the sign-in) from posting the token elsewhere.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Headers every answer carries, UI and API alike (the webhook intake adds them too). */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
});

/**
 * Sets SECURITY_HEADERS before anything else runs, so error answers, 404s, 304s and streams carry
 * them too. Registered first: the error handler only sets its own headers, it never clears these.
 */
export function securityHeaders() {
  return async function setSecurityHeaders(ctx: Context, next: Next): Promise<void> {
    ctx.set(SECURITY_HEADERS);
    await next();
  };
}

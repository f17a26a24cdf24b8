import { ensureBuilt } from './helpers/plugin-process.js';

/** Builds dist/ once before the suites when a source is newer: formatter processes run it. */
export default function setup(): void {
  ensureBuilt();
}

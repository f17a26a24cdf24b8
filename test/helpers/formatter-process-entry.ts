import { join } from 'node:path';
import { ROOT } from './plugin-process.js';

/**
 * The compiled formatter process: vitest runs the plugin from its TypeScript sources, but formatter
 * processes are plain node processes, so they run dist/ (built fresh by test/global-setup.ts).
 */
export const FORMATTER_PROCESS = join(ROOT, 'dist', 'sandbox', 'formatter-process.js');

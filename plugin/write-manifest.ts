import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildManifest } from './manifest.js';
import { PROJECT_ROOT } from './project-files.js';

writeFileSync(join(PROJECT_ROOT, 'manifest.json'), `${JSON.stringify(buildManifest(), null, 2)}\n`);

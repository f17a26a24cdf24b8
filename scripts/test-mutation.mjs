#!/usr/bin/env node
// `npm run test:mutation [-- folder…]`: Stryker over each folder in turn (stryker.config.mjs), then
// each folder's score. Incremental: a rerun tests only the mutants whose code or tests changed since
// the results recorded in reports/mutation/<folder>.incremental.json (not committed: a megabyte or
// two per folder, rewritten by every run; the README keeps the scores).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

const FOLDERS = ['formatters', 'sandbox', 'plugin/http', 'plugin/pipeline', 'plugin/networks', 'plugin/store'];
const args = process.argv.slice(2);
const report = args[0] === '--report';
const chosen = (report ? args.slice(1) : args).map((f) => f.replace(/\/+$/, ''));
for (const f of chosen) if (!FOLDERS.includes(f)) throw new Error(`${f}: not a mutated folder (${FOLDERS.join(', ')})`);
const folders = chosen.length ? chosen : FOLDERS;

if (!report) {
  for (const folder of folders) {
    console.log(`\n== ${folder}`);
    const run = spawnSync('npx', ['stryker', 'run', 'stryker.config.mjs'], { stdio: 'inherit', env: { ...process.env, MUTATION_FOLDER: folder } });
    if (run.status !== 0) process.exit(run.status ?? 1);
  }
}

/** Stryker's mutation score: detected over detected and undetected; ignored mutants and errors left out. */
const DETECTED = new Set(['Killed', 'Timeout']);
const UNDETECTED = new Set(['Survived', 'NoCoverage']);
console.log('\nfolder            mutants  killed  survived  no cover  ignored  score');
for (const folder of folders) {
  const file = `reports/mutation/${folder.replace('/', '-')}.incremental.json`;
  if (!existsSync(file)) {
    console.log(`${folder.padEnd(16)}  no results yet`);
    continue;
  }
  const counts = { all: 0, detected: 0, Survived: 0, NoCoverage: 0, Ignored: 0 };
  for (const { mutants } of Object.values(JSON.parse(readFileSync(file, 'utf8')).files)) {
    for (const m of mutants) {
      counts.all++;
      if (DETECTED.has(m.status)) counts.detected++;
      if (UNDETECTED.has(m.status) || m.status === 'Ignored') counts[m.status]++;
    }
  }
  const undetected = counts.Survived + counts.NoCoverage;
  const score = counts.detected + undetected ? ((100 * counts.detected) / (counts.detected + undetected)).toFixed(1) : '-';
  console.log(
    `${folder.padEnd(16)}  ${String(counts.all).padStart(7)}  ${String(counts.detected).padStart(6)}  ${String(counts.Survived).padStart(8)}  ${String(counts.NoCoverage).padStart(8)}  ${String(counts.Ignored).padStart(7)}  ${score}%`,
  );
}

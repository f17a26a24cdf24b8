#!/usr/bin/env node
// `npm run test:mutation [-- run…]`: Stryker runs in turn (stryker.config.mjs: one per folder, two for
// sandbox/), then each run's score. Incremental: a rerun tests only the mutants whose code or tests changed since
// the results recorded in reports/mutation/<run>.incremental.json (not committed: a megabyte or
// two per run, rewritten by every run; the README keeps the scores). `-- --report` prints the
// scores only; for a run stopped part-way, the mutants it decided (scripts/stryker-mutant-log.mjs).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';

const RUNS = ['formatters', 'sandbox', 'sandbox-processes', 'plugin/http', 'plugin/pipeline', 'plugin/networks', 'plugin/store'];
const args = process.argv.slice(2);
const report = args[0] === '--report';
const chosen = (report ? args.slice(1) : args).map((f) => f.replace(/\/+$/, ''));
for (const r of chosen) if (!RUNS.includes(r)) throw new Error(`${r}: not a mutation run (${RUNS.join(', ')})`);
const runs = chosen.length ? chosen : RUNS;

if (!report) {
  for (const run of runs) {
    console.log(`\n== ${run}`);
    const stryker = spawnSync('npx', ['stryker', 'run', 'stryker.config.mjs'], { stdio: 'inherit', env: { ...process.env, MUTATION_RUN: run } });
    if (stryker.status !== 0) process.exit(stryker.status ?? 1);
  }
}

/** Stryker's mutation score: detected over detected and undetected; ignored mutants and errors left out. */
const DETECTED = new Set(['Killed', 'Timeout']);
const UNDETECTED = new Set(['Survived', 'NoCoverage']);

/** Statuses from the last finished run, or from the mutant log when a later run stopped part-way. */
function statusesOf(run) {
  const base = `reports/mutation/${run.replace('/', '-')}`;
  const complete = existsSync(`${base}.incremental.json`) ? statSync(`${base}.incremental.json`).mtimeMs : -1;
  const logged = existsSync(`${base}.mutants.jsonl`) ? statSync(`${base}.mutants.jsonl`).mtimeMs : -1;
  if (complete < 0 && logged < 0) return undefined;
  // The log is rewritten from its start by every run and the report is written at its end.
  if (logged > complete) {
    const lines = readFileSync(`${base}.mutants.jsonl`, 'utf8').split('\n').filter(Boolean);
    return { partial: true, statuses: lines.map((line) => JSON.parse(line).status) };
  }
  const { files } = JSON.parse(readFileSync(`${base}.incremental.json`, 'utf8'));
  return { partial: false, statuses: Object.values(files).flatMap(({ mutants }) => mutants.map((m) => m.status)) };
}

console.log('\nrun                mutants  killed  survived  no cover  ignored  score');
for (const run of runs) {
  const result = statusesOf(run);
  if (!result) {
    console.log(`${run.padEnd(17)}  no results yet`);
    continue;
  }
  const counts = { all: 0, detected: 0, Survived: 0, NoCoverage: 0, Ignored: 0 };
  for (const status of result.statuses) {
    counts.all++;
    if (DETECTED.has(status)) counts.detected++;
    if (UNDETECTED.has(status) || status === 'Ignored') counts[status]++;
  }
  const undetected = counts.Survived + counts.NoCoverage;
  const score = counts.detected + undetected ? ((100 * counts.detected) / (counts.detected + undetected)).toFixed(1) : '-';
  console.log(
    `${run.padEnd(17)}  ${String(counts.all).padStart(7)}  ${String(counts.detected).padStart(6)}  ${String(counts.Survived).padStart(8)}  ${String(counts.NoCoverage).padStart(8)}  ${String(counts.Ignored).padStart(7)}  ${score}%${result.partial ? '  (run stopped or going on: so far)' : ''}`,
  );
}

// A Stryker reporter that appends each tested mutant to reports/mutation/<folder>.mutants.jsonl as it
// is decided. A first run of a folder takes up to two hours on two cores and Stryker writes its
// reports only at the end: with this log, a run that is stopped still shows its survivors so far, and
// tests for them can be written while the run goes on.
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import { commonTokens, declareClassPlugin, PluginKind } from '@stryker-mutator/api/plugin';

class MutantLogReporter {
  static inject = [commonTokens.options];

  /** @param {import('@stryker-mutator/api/core').StrykerOptions} options */
  constructor(options) {
    this.file = options.incrementalFile.replace(/\.incremental\.json$/, '') + '.mutants.jsonl';
    mkdirSync(dirname(this.file), { recursive: true });
    writeFileSync(this.file, '');
  }

  /** @param {Readonly<import('@stryker-mutator/api/core').MutantResult>} m */
  onMutantTested(m) {
    const line = {
      status: m.status,
      file: relative(process.cwd(), m.fileName),
      line: m.location.start.line,
      column: m.location.start.column,
      mutator: m.mutatorName,
      replacement: m.replacement,
      testsCompleted: m.testsCompleted,
      coveredBy: m.coveredBy?.length,
    };
    appendFileSync(this.file, `${JSON.stringify(line)}\n`);
  }
}

export const strykerPlugins = [declareClassPlugin(PluginKind.Reporter, 'mutant-log', MutantLogReporter)];

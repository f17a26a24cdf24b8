import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';

const require = createRequire(import.meta.url);
/** axe-core's minified source, injected into the page under test. */
let AXE_SOURCE: string | undefined;

/** The WCAG 2.1 level A and AA rules the UI is held to (issue #20). */
export const WCAG_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

/** Impacts that fail a test; minor and moderate findings are left to review. */
const FAILING = new Set(['serious', 'critical']);

interface AxeNode {
  target: unknown[];
  html: string;
  failureSummary?: string;
}
interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: AxeNode[];
}

const truncate = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** One line per rule, then its elements (selector and HTML, truncated). */
export function describeViolations(name: string, violations: AxeViolation[]): string {
  const lines = [`${name}: ${violations.length} accessibility violation(s) (WCAG 2.1 A/AA, serious or critical)`];
  for (const v of violations) {
    lines.push(`- ${v.id} [${v.impact}] ${v.help} (${v.nodes.length} element(s))`);
    for (const node of v.nodes.slice(0, 8)) {
      lines.push(`    ${truncate(node.target.map(String).join(' > '), 160)}  ${truncate(node.html.replace(/\s+/g, ' '), 200)}`);
    }
    if (v.nodes.length > 8) lines.push(`    … and ${v.nodes.length - 8} more`);
  }
  return lines.join('\n');
}

/**
 * Runs axe-core's WCAG 2.1 A/AA rules on the page as it is now and throws on any serious or
 * critical violation, listing the rule, its impact and the elements. `name` names the screen.
 */
export async function expectAccessible(page: Page, name: string): Promise<void> {
  AXE_SOURCE ??= readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
  // Evaluated over the DevTools protocol: the UI's CSP (script-src 'self') refuses inline script tags.
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async (tags) => {
    const axe = (window as unknown as { axe: { run(ctx: unknown, opts: unknown): Promise<{ violations: AxeViolation[] }> } }).axe;
    const result = await axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => ({ target: n.target, html: n.html })),
    }));
  }, WCAG_TAGS);
  const failing = violations.filter((v) => FAILING.has(v.impact ?? ''));
  if (failing.length > 0) throw new Error(describeViolations(name, failing));
}

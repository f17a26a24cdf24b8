/** CodeMirror 6, loaded on demand (its own chunk) by CodeEditor. */
import { autocompletion, closeBrackets, closeBracketsKeymap, completionKeymap } from '@codemirror/autocomplete';
import { defaultKeymap, history, historyKeymap } from '@codemirror/commands';
import { javascript } from '@codemirror/lang-javascript';
import { json, jsonParseLinter } from '@codemirror/lang-json';
import { bracketMatching, HighlightStyle, indentOnInput, syntaxHighlighting } from '@codemirror/language';
import { lintGutter, linter, setDiagnostics, type Diagnostic } from '@codemirror/lint';
import { EditorSelection, EditorState, StateEffect, StateField, type Extension } from '@codemirror/state';
import { Decoration, drawSelection, EditorView, highlightActiveLine, highlightActiveLineGutter, keymap, lineNumbers, type DecorationSet } from '@codemirror/view';
import { tags as t } from '@lezer/highlight';

export interface EditorMark {
  line: number;
  column?: number;
  message: string;
}

export interface EditorOptions {
  value: string;
  language: 'javascript' | 'json';
  label: string;
  /** Id of the element that tells how to leave the editor by keyboard. */
  describedBy?: string;
  onChange(value: string): void;
}

export interface EditorHandle {
  setValue(value: string): void;
  setMarks(marks: EditorMark[]): void;
  reveal(line: number, column?: number): void;
  destroy(): void;
}

const highlight = HighlightStyle.define([
  { tag: [t.keyword, t.controlKeyword, t.moduleKeyword, t.operatorKeyword], color: '#8839ef' },
  { tag: [t.string, t.special(t.string)], color: '#1a7f37' },
  { tag: [t.number, t.bool, t.null], color: '#9a4d00' },
  { tag: [t.lineComment, t.blockComment], color: '#667085', fontStyle: 'italic' },
  { tag: [t.function(t.variableName), t.function(t.propertyName)], color: '#1f5fbf' },
  { tag: t.propertyName, color: '#0b5f75' },
  { tag: [t.definition(t.variableName), t.variableName], color: '#1c2430' },
  { tag: t.invalid, color: '#c62828' },
]);

const theme = EditorView.theme({
  '&': { fontSize: '13px', backgroundColor: 'var(--surface)' },
  '&.cm-focused': { outline: 'none' },
  '.cm-scroller': { fontFamily: 'var(--mono)', lineHeight: '1.55' },
  '.cm-content': { padding: '10px 0' },
  '.cm-gutters': { backgroundColor: 'var(--surface-2)', color: 'var(--muted)', borderRight: '1px solid var(--border)' },
  '.cm-activeLine': { backgroundColor: 'rgba(59, 91, 219, 0.05)' },
  '.cm-activeLineGutter': { backgroundColor: 'rgba(59, 91, 219, 0.1)' },
  // Light enough for every token colour to keep 4.5:1 on it; the bar marks the line as much.
  '.cm-errorLine': { backgroundColor: 'rgba(198, 40, 40, 0.06)', boxShadow: 'inset 3px 0 0 var(--error)' },
  '&.cm-focused .cm-cursor': { borderLeftColor: 'var(--accent)' },
  '.cm-tooltip': { fontFamily: 'var(--sans)', fontSize: '12px' },
});

/** A background on the failing lines, next to the lint underline and gutter marker. */
const setErrorLines = StateEffect.define<number[]>();
const errorLines = StateField.define<DecorationSet>({
  create: () => Decoration.none,
  update(deco, tr) {
    let next = deco.map(tr.changes);
    for (const e of tr.effects) {
      if (!e.is(setErrorLines)) continue;
      const lines = e.value.filter((n) => n >= 1 && n <= tr.state.doc.lines);
      next = Decoration.set(lines.sort((a, b) => a - b).map((n) => Decoration.line({ class: 'cm-errorLine' }).range(tr.state.doc.line(n).from)));
    }
    return next;
  },
  provide: (f) => EditorView.decorations.from(f),
});

function languageOf(language: EditorOptions['language']): Extension {
  return language === 'json' ? [json(), linter(jsonParseLinter(), { delay: 300 })] : [javascript(), autocompletion()];
}

export function createEditor(parent: HTMLElement, opts: EditorOptions): EditorHandle {
  let silent = false;
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: opts.value,
      extensions: [
        lineNumbers(),
        highlightActiveLineGutter(),
        history(),
        drawSelection(),
        indentOnInput(),
        bracketMatching(),
        closeBrackets(),
        highlightActiveLine(),
        syntaxHighlighting(highlight),
        lintGutter(),
        errorLines,
        keymap.of([...closeBracketsKeymap, ...defaultKeymap, ...historyKeymap, ...completionKeymap]),
        languageOf(opts.language),
        theme,
        // An explicit tab stop on the editable content (contenteditable is one already): the scroller
        // around it then holds focusable content, so it can be scrolled by keyboard (axe
        // scrollable-region-focusable) without a second, empty tab stop on the scroller itself.
        EditorView.contentAttributes.of({
          'aria-label': opts.label,
          tabindex: '0',
          ...(opts.describedBy ? { 'aria-describedby': opts.describedBy } : {}),
        }),
        EditorView.updateListener.of((u) => {
          if (u.docChanged && !silent) opts.onChange(u.state.doc.toString());
        }),
      ],
    }),
  });

  const lineStart = (line: number, column = 1) => {
    const l = view.state.doc.line(Math.min(Math.max(line, 1), view.state.doc.lines));
    return Math.min(l.from + Math.max(column - 1, 0), l.to);
  };

  return {
    setValue(value) {
      if (value === view.state.doc.toString()) return;
      // An outside change (template, reload) stays undoable but is not echoed back.
      silent = true;
      view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: value } });
      silent = false;
    },
    setMarks(marks) {
      const doc = view.state.doc;
      const diagnostics: Diagnostic[] = marks
        .filter((m) => m.line >= 1 && m.line <= doc.lines)
        .map((m) => {
          const line = doc.line(m.line);
          const from = m.column ? lineStart(m.line, m.column) : line.from;
          return { from, to: Math.max(line.to, from), severity: 'error', message: m.message };
        });
      view.dispatch(setDiagnostics(view.state, diagnostics));
      view.dispatch({ effects: setErrorLines.of(marks.map((m) => m.line)) });
    },
    reveal(line, column) {
      const pos = lineStart(line, column);
      view.dispatch({ selection: EditorSelection.cursor(pos), effects: EditorView.scrollIntoView(pos, { y: 'center' }) });
      view.focus();
    },
    destroy() {
      view.destroy();
    },
  };
}

import { useEffect, useId, useRef, useState } from 'preact/hooks';
import type { EditorHandle, EditorMark } from './code-editor-setup.js';

export type { EditorHandle, EditorMark };

interface Props {
  value: string;
  onChange(value: string): void;
  language: 'javascript' | 'json';
  /** Accessible name of the editable content. */
  label: string;
  /** Lines to mark as failing (1-based). */
  marks?: EditorMark[];
  size: 'tall' | 'short';
  /** Receives the editor once it is loaded, for reveal(). */
  handle?: { current: EditorHandle | null };
}

/** CodeMirror behind a small wrapper; the editor chunk loads the first time one is shown. */
export function CodeEditor({ value, onChange, language, label, marks, size, handle }: Props) {
  const host = useRef<HTMLDivElement>(null);
  const editor = useRef<EditorHandle | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const hintId = `editor-hint-${useId()}`;
  // The latest callback without recreating the editor on every render.
  const changed = useRef(onChange);
  changed.current = onChange;

  useEffect(() => {
    let disposed = false;
    import('./code-editor-setup.js')
      .then(({ createEditor }) => {
        if (disposed || !host.current) return;
        editor.current = createEditor(host.current, { value, language, label, describedBy: hintId, onChange: (v) => changed.current(v) });
        if (marks) editor.current.setMarks(marks);
        if (handle) handle.current = editor.current;
      })
      .catch((err: unknown) => setLoadError(err instanceof Error ? err.message : String(err)));
    return () => {
      disposed = true;
      editor.current?.destroy();
      editor.current = null;
      if (handle) handle.current = null;
    };
    // Created once per mount; later prop changes are applied by the effects below.
  }, []);

  useEffect(() => editor.current?.setValue(value), [value]);
  useEffect(() => editor.current?.setMarks(marks ?? []), [marks]);

  return (
    <>
      <div class={`editor editor-${size}`} ref={host}>
        {loadError && <p class="field-error">The editor could not be loaded: {loadError}</p>}
      </div>
      {/* Tab is not bound in the editor; Escape first also closes completions (CodeMirror's tab-focus mode). */}
      <p class="editor-hint" id={hintId}>
        Press Esc then Tab to leave the editor.
      </p>
    </>
  );
}

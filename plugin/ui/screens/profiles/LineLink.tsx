/** Where in the script an error is, as a button that moves the editor's cursor there. */
export function LineLink({ line, column, onReveal }: { line?: number; column?: number; onReveal(line: number, column?: number): void }) {
  if (line === undefined) return null;
  return (
    <button type="button" class="link" onClick={() => onReveal(line, column)}>
      line {line}
      {column !== undefined ? `:${column}` : ''}
    </button>
  );
}

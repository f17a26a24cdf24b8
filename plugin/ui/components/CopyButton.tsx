import { useState } from 'preact/hooks';

/**
 * Copies text; says so for a moment. The label names what is copied (several per screen) and
 * starts with "Copy"; the accessible name keeps holding the visible text (WCAG 2.5.3).
 */
export function CopyButton({ text, label, small = true }: { text: string; label: string; small?: boolean }) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setState('copied');
    } catch {
      setState('failed');
    }
    setTimeout(() => setState('idle'), 1600);
  };
  return (
    <button type="button" class={small ? 'btn btn-small' : 'btn'} aria-label={nameOf(label, state)} onClick={copy}>
      {state === 'copied' ? 'Copied' : state === 'failed' ? 'Copy failed' : 'Copy'}
    </button>
  );
}

function nameOf(label: string, state: 'idle' | 'copied' | 'failed'): string {
  const what = label.replace(/^Copy\s+/, '');
  if (state === 'copied') return `Copied ${what}`;
  if (state === 'failed') return `Copy failed: ${what}`;
  return label;
}

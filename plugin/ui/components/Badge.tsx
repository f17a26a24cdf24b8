import type { ComponentChildren } from 'preact';

export type Tone = 'ok' | 'warn' | 'error' | 'info' | 'muted';

export function Badge({ tone, children, title }: { tone: Tone; children: ComponentChildren; title?: string }) {
  return (
    <span class={`badge badge-${tone}`} {...(title ? { title } : {})}>
      {children}
    </span>
  );
}

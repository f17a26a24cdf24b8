import type { ComponentChildren } from 'preact';
import { useRef } from 'preact/hooks';

export interface TabSpec<K extends string> {
  key: K;
  label: string;
}

/** WAI-ARIA tabs: a tablist of role=tab buttons with arrow-key movement, and one tabpanel. */
export function Tabs<K extends string>(props: {
  label: string;
  tabs: TabSpec<K>[];
  active: K;
  onSelect(key: K): void;
  children: ComponentChildren;
}) {
  const list = useRef<HTMLDivElement>(null);
  const id = (k: K) => `tab-${k}`;
  const onKey = (e: KeyboardEvent) => {
    const i = props.tabs.findIndex((t) => t.key === props.active);
    const step = e.key === 'ArrowRight' ? 1 : e.key === 'ArrowLeft' ? -1 : 0;
    if (!step) return;
    e.preventDefault();
    const next = props.tabs[(i + step + props.tabs.length) % props.tabs.length];
    props.onSelect(next.key);
    list.current?.querySelector<HTMLButtonElement>(`#${id(next.key)}`)?.focus();
  };
  return (
    <>
      <div class="tabs" role="tablist" aria-label={props.label} ref={list} onKeyDown={onKey}>
        {props.tabs.map((t) => (
          <button
            key={t.key}
            id={id(t.key)}
            type="button"
            role="tab"
            class="tab"
            aria-selected={t.key === props.active}
            aria-controls={`panel-${t.key}`}
            tabIndex={t.key === props.active ? 0 : -1}
            onClick={() => props.onSelect(t.key)}
          >
            {t.label}
          </button>
        ))}
      </div>
      <div class="tab-panel" role="tabpanel" id={`panel-${props.active}`} aria-labelledby={id(props.active)}>
        {props.children}
      </div>
    </>
  );
}

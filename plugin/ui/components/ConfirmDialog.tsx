import type { ComponentChildren } from 'preact';
import { useEffect, useId, useRef } from 'preact/hooks';
import type { ApiError } from '../api/errors.js';
import { ErrorNote } from './ErrorNote.js';

interface Props {
  title: string;
  /** What confirming does, in words. */
  children: ComponentChildren;
  confirmLabel: string;
  busyLabel: string;
  busy: boolean;
  error: ApiError | null;
  errorPrefix: string;
  onConfirm(): void;
  onCancel(): void;
}

/**
 * A modal question: a native <dialog> opened with showModal(), so focus moves into it, the page
 * behind is inert and Escape cancels; closing returns focus to where it was. Shown while mounted.
 */
export function ConfirmDialog({ title, children, confirmLabel, busyLabel, busy, error, errorPrefix, onConfirm, onCancel }: Props) {
  const dialog = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const bodyId = useId();

  useEffect(() => {
    const d = dialog.current;
    d?.showModal();
    return () => d?.close();
  }, []);

  return (
    <dialog
      ref={dialog}
      class="dialog"
      aria-labelledby={titleId}
      aria-describedby={bodyId}
      onCancel={(e) => {
        // Escape: the parent unmounts the dialog; while busy it stays until the answer.
        e.preventDefault();
        if (!busy) onCancel();
      }}
    >
      <h2 id={titleId}>{title}</h2>
      <div id={bodyId} class="dialog-body">
        {children}
      </div>
      <ErrorNote error={error} prefix={errorPrefix} />
      <div class="button-row dialog-actions">
        <button type="button" class="btn" disabled={busy} onClick={onCancel}>
          Cancel
        </button>
        <button type="button" class="btn btn-primary" disabled={busy} onClick={onConfirm} autoFocus>
          {busy ? busyLabel : confirmLabel}
        </button>
      </div>
    </dialog>
  );
}

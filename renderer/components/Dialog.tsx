// A modal dialog on the native <dialog> element (showModal: focus moves in and is trapped, Escape closes, the page
// behind is inert). Named by its heading, so tests and assistive tech find it with getByRole('dialog', { name }).
import { useEffect, useId, useRef, type ReactNode } from 'react';

export function Dialog({ title, onClose, children, className }: { title: string; onClose: () => void; children: ReactNode; className?: string }) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const close = useRef(onClose);
  close.current = onClose;
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    // Escape fires 'cancel' then 'close'; the owner decides (it unmounts us)
    const onCancel = (e: Event) => { e.preventDefault(); close.current(); };
    d.addEventListener('cancel', onCancel);
    if (!d.open) d.showModal();
    return () => {
      d.removeEventListener('cancel', onCancel);
      if (d.open) d.close();
    };
  }, []);
  return (
    <dialog ref={ref} className={`dialog ${className ?? ''}`} aria-labelledby={titleId}>
      <div className="dialog-head">
        <h2 id={titleId}>{title}</h2>
        <button type="button" className="link close" onClick={() => close.current()} aria-label="Close dialog">✕</button>
      </div>
      {children}
    </dialog>
  );
}

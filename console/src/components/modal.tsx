// A modal dialog on the browser's own <dialog>: it takes the focus, keeps it
// inside, closes on Escape and gives the focus back to what opened it.
import type { ComponentChildren } from 'preact';
import { useEffect, useId, useRef } from 'preact/hooks';

export function Modal(props: { readonly title: string; readonly onClose: () => void; readonly children: ComponentChildren }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const leaving = useRef(false);
  const heading = useId();
  useEffect(() => {
    const element = dialog.current!;
    element.showModal();
    return () => {
      // Closed, not just dropped from the page, so that the focus goes back to what opened it.
      leaving.current = true;
      if (element.open) element.close();
    };
  }, []);
  return (
    <dialog ref={dialog} class="modal" aria-labelledby={heading} onClose={() => leaving.current || props.onClose()}>
      <div class="modal-head">
        <h2 id={heading}>{props.title}</h2>
        <button type="button" class="icon-button" aria-label="Close" onClick={() => dialog.current?.close()}>
          <span aria-hidden="true">×</span>
        </button>
      </div>
      {props.children}
    </dialog>
  );
}

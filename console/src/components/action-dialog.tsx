// A dialog that asks before an action and runs it: on success it closes and
// says what was done; on a refusal it stays open and shows the API's message
// as the API words it.
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { ApiError } from '../api.ts';
import { refreshNow } from '../live.ts';
import { Modal } from './modal.tsx';
import { useNotify } from './notices.tsx';

export interface ActionDialogProps<R> {
  readonly title: string;
  /** The button that runs the action. */
  readonly action: string;
  readonly danger?: boolean;
  /** What to say once it is done, or how to say it from the API's answer. */
  readonly done: string | ((answer: R) => string);
  readonly run: () => Promise<R>;
  readonly onClose: () => void;
  /** After success; default onClose. */
  readonly onDone?: () => void;
  readonly children?: ComponentChildren;
}

export function ActionDialog<R>(props: ActionDialogProps<R>) {
  const notify = useNotify();
  const [busy, setBusy] = useState(false);
  const [refusal, setRefusal] = useState<string>();
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setRefusal(undefined);
    try {
      const answer = await props.run();
      notify(typeof props.done === 'string' ? props.done : props.done(answer));
      refreshNow();
      (props.onDone ?? props.onClose)();
    } catch (error) {
      setRefusal(error instanceof ApiError ? error.message : String(error));
      setBusy(false);
    }
  };
  return (
    <Modal title={props.title} onClose={props.onClose}>
      <form class="dialog-form" onSubmit={(event) => void submit(event)}>
        {props.children}
        <div class="refusal-area" role="alert">
          {refusal && (
            <p class="refusal">
              <strong>Refused:</strong> {refusal}
            </p>
          )}
        </div>
        <div class="dialog-buttons">
          <button type="button" class="button" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" class={props.danger ? 'button danger' : 'button primary'} disabled={busy}>
            {busy ? 'Working…' : props.action}
          </button>
        </div>
      </form>
    </Modal>
  );
}

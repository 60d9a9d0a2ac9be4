// A cartridge's details, and the dialogs of the actions on a cartridge in the
// library: archive and delete.
import { useState } from 'preact/hooks';
import type { TapeInfo } from '../../../src/tape/tape-service.ts';
import { actions } from '../actions.ts';
import { dateTime, humanSize, percent, place, TAPE_STATUS } from '../format.ts';
import { useApi } from '../live.ts';
import { ActionDialog } from './action-dialog.tsx';
import { Modal } from './modal.tsx';

export type TapeAction = 'archive' | 'delete';

export function TapeDetails(props: { readonly tape: TapeInfo | undefined; readonly barcode: string; readonly onClose: () => void }) {
  const [acting, setActing] = useState<TapeAction>();
  const { tape } = props;
  return (
    <>
      <Modal title={`Cartridge ${props.barcode}`} onClose={props.onClose}>
        {tape ? (
          <>
            <dl class="details">
              <dt>Status</dt>
              <dd>
                <span class={`chip tape-${tape.status}`}>{TAPE_STATUS[tape.status]}</span>
              </dd>
              <dt>Location</dt>
              <dd>{place(tape.location)}</dd>
              <dt>Size</dt>
              <dd>{humanSize(tape.sizeBytes)}</dd>
              <dt>Used</dt>
              <dd>
                {humanSize(tape.usedBytes)} ({percent(tape.usedBytes, tape.sizeBytes).toFixed(1)}%)
                <span class="bar" aria-hidden="true">
                  <span style={{ width: `${Math.min(100, percent(tape.usedBytes, tape.sizeBytes))}%` }} />
                </span>
              </dd>
              <dt>Pool</dt>
              <dd>{tape.pool}</dd>
              <dt>WORM</dt>
              <dd>{tape.worm ? 'Yes: appends, never overwrites' : 'No'}</dd>
              <dt>Retained until</dt>
              <dd>{tape.retentionUntil ? dateTime(tape.retentionUntil) : 'No retention lock'}</dd>
              <dt>Created</dt>
              <dd>{dateTime(tape.createdAt)}</dd>
            </dl>
            <div class="dialog-buttons">
              <button type="button" class="button" onClick={() => setActing('archive')}>
                Archive…
              </button>
              <button type="button" class="button danger" onClick={() => setActing('delete')}>
                Delete…
              </button>
            </div>
          </>
        ) : (
          <p>{props.barcode} is no longer in the library: it was archived or deleted.</p>
        )}
      </Modal>
      {acting && tape && <TapeActionDialog action={acting} tape={tape} onClose={() => setActing(undefined)} onDone={props.onClose} />}
    </>
  );
}

export function TapeActionDialog(props: {
  readonly action: TapeAction;
  readonly tape: TapeInfo;
  readonly onClose: () => void;
  readonly onDone?: () => void;
}) {
  const api = useApi();
  const [bypass, setBypass] = useState(false);
  const { barcode, pool } = props.tape;
  if (props.action === 'archive') {
    return (
      <ActionDialog
        title={`Archive ${barcode}?`}
        action="Archive"
        done={`Archiving ${barcode}: it left the library and goes to pool ${pool} once its data is uploaded.`}
        run={() => actions.archive(api, barcode)}
        onClose={props.onClose}
        onDone={props.onDone}
      >
        {props.tape.status === 'RETRIEVED' ? (
          <p>{barcode} goes back to the shelf, ARCHIVED again: its archive is still there, and the copy restored for reading is deleted.</p>
        ) : (
          <p>
            {barcode} leaves the library for the vault shelf (pool {pool}). Until it is ARCHIVED you can cancel, and it comes back to a
            storage slot with its data; afterwards, retrieve it to read it again.
          </p>
        )}
      </ActionDialog>
    );
  }
  return (
    <ActionDialog
      title={`Delete ${barcode}?`}
      action="Delete"
      danger
      done={`Deleted ${barcode} and its data.`}
      run={() => actions.deleteTape(api, barcode, bypass)}
      onClose={props.onClose}
      onDone={props.onDone}
    >
      <p>{barcode} and everything written on it are deleted for good. Its barcode is never used again.</p>
      <label class="check">
        <input type="checkbox" checked={bypass} onChange={(event) => setBypass(event.currentTarget.checked)} />
        Bypass a GOVERNANCE retention lock
      </label>
    </ActionDialog>
  );
}

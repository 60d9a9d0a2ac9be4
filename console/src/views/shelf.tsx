// The vault shelf: archived cartridges and the ones on their way there or
// back, with the progress of each archival and retrieval as the gateway
// reports it; cancel archival, retrieve (with a tier), cancel retrieval,
// delete the archive.
import { useMemo, useState } from 'preact/hooks';
import type { RetrievalTier, ShelfStatus, ShelfTapeInfo } from '../../../src/shelf/shelf-service.ts';
import { actions } from '../actions.ts';
import { ActionDialog } from '../components/action-dialog.tsx';
import { Loading, Pager, PollProblem, TableScroller, ViewHeading } from '../components/common.tsx';
import { count, counted, dateTime, humanSize, place, SHELF_STATUS } from '../format.ts';
import { useApi, usePoll } from '../live.ts';

const ROWS = 50;

type ShelfAction = 'cancel-archival' | 'retrieve' | 'cancel-retrieval' | 'delete';

/** What can be asked of a cartridge in each status; the gateway decides in the end. */
const ACTIONS: Record<ShelfStatus, readonly ShelfAction[]> = {
  IN_TRANSIT_TO_VTS: ['cancel-archival'],
  ARCHIVING: ['cancel-archival'],
  ARCHIVED: ['retrieve', 'delete'],
  RETRIEVING: ['cancel-retrieval'],
  RETRIEVED: [],
  IRRECOVERABLE: ['delete'],
};

const ACTION_LABEL: Record<ShelfAction, string> = {
  'cancel-archival': 'Cancel archival',
  retrieve: 'Retrieve',
  'cancel-retrieval': 'Cancel retrieval',
  delete: 'Delete',
};

export function ShelfView() {
  const shelf = usePoll<{ tapes: ShelfTapeInfo[] }>('/shelf');
  const [barcode, setBarcode] = useState('');
  const [status, setStatus] = useState<ShelfStatus | ''>('');
  const [page, setPage] = useState(0);
  const [acting, setActing] = useState<{ action: ShelfAction; tape: ShelfTapeInfo }>();

  const all = shelf.data?.tapes;
  const shown = useMemo(() => {
    const wanted = barcode.trim().toUpperCase();
    return (all ?? []).filter((t) => t.barcode.includes(wanted) && (status === '' || t.status === status));
  }, [all, barcode, status]);
  const pages = Math.max(1, Math.ceil(shown.length / ROWS));
  const current = Math.min(page, pages - 1);
  const rows = shown.slice(current * ROWS, current * ROWS + ROWS);
  const moving = (all ?? []).filter((t) => t.progress !== undefined).length;

  return (
    <>
      <ViewHeading title="Shelf">{all && `${counted(all.length, 'cartridge')} on the shelf, ${count(moving)} being archived or retrieved`}</ViewHeading>
      <PollProblem error={shelf.error} />
      <div class="toolbar">
        <div class="filters" role="group" aria-label="Filters">
          <label>
            Barcode
            <input
              value={barcode}
              onInput={(e) => {
                setBarcode(e.currentTarget.value);
                setPage(0);
              }}
              autocomplete="off"
              spellcheck={false}
            />
          </label>
          <label>
            Status
            <select
              value={status}
              onChange={(e) => {
                setStatus(e.currentTarget.value as ShelfStatus | '');
                setPage(0);
              }}
            >
              <option value="">Any</option>
              {Object.entries(SHELF_STATUS).map(([value, text]) => (
                <option key={value} value={value}>
                  {text}
                </option>
              ))}
            </select>
          </label>
        </div>
      </div>
      {all ? (
        <>
          <p class="count" aria-live="polite">
            {shown.length === 0 ? (all.length === 0 ? 'The shelf is empty: archive a tape from the Tapes view.' : 'No cartridge matches.') : `Showing ${current * ROWS + 1}–${current * ROWS + rows.length} of ${count(shown.length)}`}
          </p>
          <TableScroller label="Shelf">
            <table class="data">
              <thead>
                <tr>
                  <th scope="col">Barcode</th>
                  <th scope="col">Status</th>
                  <th scope="col">Progress</th>
                  <th scope="col">Pool</th>
                  <th scope="col" class="number">
                    Used
                  </th>
                  <th scope="col" class="number">
                    Archive
                  </th>
                  <th scope="col">Archived</th>
                  <th scope="col">Retained until</th>
                  <th scope="col">
                    <span class="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {rows.map((tape) => (
                  <tr key={tape.barcode}>
                    <th scope="row">{tape.barcode}</th>
                    <td>
                      <span class={`chip shelf-${tape.status}`}>{SHELF_STATUS[tape.status]}</span>
                      {tape.location && <span class="under">{place(tape.location)}</span>}
                      {tape.error && <span class="under error-text">{tape.error}</span>}
                    </td>
                    <td>
                      {tape.progress !== undefined && (
                        <span class="progress">
                          <progress max={100} value={tape.progress} aria-label={`${tape.barcode} ${SHELF_STATUS[tape.status].toLowerCase()}`} />
                          <span>{Math.floor(tape.progress)}%</span>
                        </span>
                      )}
                    </td>
                    <td>{tape.pool}</td>
                    <td class="number">{humanSize(tape.usedBytes)}</td>
                    <td class="number">{tape.archiveBytes === undefined ? '-' : humanSize(tape.archiveBytes)}</td>
                    <td>{dateTime(tape.archivedAt)}</td>
                    <td>{tape.retentionUntil ? dateTime(tape.retentionUntil) : '-'}</td>
                    <td class="row-actions">
                      {ACTIONS[tape.status].map((action) => (
                        <button
                          key={action}
                          type="button"
                          class={action === 'delete' ? 'button small danger' : 'button small'}
                          aria-label={`${ACTION_LABEL[action]} ${tape.barcode}`}
                          onClick={() => setActing({ action, tape })}
                        >
                          {ACTION_LABEL[action]}
                        </button>
                      ))}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableScroller>
          <Pager page={current} pages={pages} label="Pages of the shelf" onPage={setPage} />
        </>
      ) : (
        <Loading />
      )}
      {acting && <ShelfActionDialog action={acting.action} tape={acting.tape} onClose={() => setActing(undefined)} />}
    </>
  );
}

function ShelfActionDialog(props: { readonly action: ShelfAction; readonly tape: ShelfTapeInfo; readonly onClose: () => void }) {
  const api = useApi();
  const [tier, setTier] = useState<RetrievalTier | ''>('');
  const [bypass, setBypass] = useState(false);
  const { barcode, pool } = props.tape;
  const common = { onClose: props.onClose };
  switch (props.action) {
    case 'cancel-archival':
      return (
        <ActionDialog {...common} title={`Cancel the archival of ${barcode}?`} action="Cancel archival" done={`${barcode} is back in a storage slot with its data.`} run={() => actions.cancelArchival(api, barcode)}>
          <p>{barcode} goes back to a free storage slot, AVAILABLE, with its data.</p>
        </ActionDialog>
      );
    case 'retrieve':
      return (
        <ActionDialog {...common} title={`Retrieve ${barcode}`} action="Retrieve" done={`Retrieving ${barcode}: it comes back read-only to an import/export slot.`} run={() => actions.retrieve(api, barcode, tier || undefined)}>
          <p>{barcode} comes back from pool {pool}, read-only, into a free import/export slot.</p>
          <fieldset class="choices">
            <legend>Retrieval tier</legend>
            {(
              [
                ['', "The gateway's default"],
                ['Expedited', 'Expedited: minutes, costs most'],
                ['Standard', 'Standard: hours'],
                ['Bulk', 'Bulk: up to half a day, costs least'],
              ] as const
            ).map(([value, text]) => (
              <label key={value} class="check">
                <input type="radio" name="tier" value={value} checked={tier === value} onChange={() => setTier(value)} />
                {text}
              </label>
            ))}
          </fieldset>
        </ActionDialog>
      );
    case 'cancel-retrieval':
      return (
        <ActionDialog {...common} title={`Cancel the retrieval of ${barcode}?`} action="Cancel retrieval" done={`${barcode} is ARCHIVED again.`} run={() => actions.cancelRetrieval(api, barcode)}>
          <p>{barcode} stays on the shelf, ARCHIVED.</p>
        </ActionDialog>
      );
    case 'delete':
      return (
        <ActionDialog {...common} title={`Delete the archive of ${barcode}?`} action="Delete" danger done={`Deleted the archive of ${barcode}.`} run={() => actions.deleteArchive(api, barcode, bypass)}>
          <p>The archive of {barcode} is deleted for good: nothing can bring it back.</p>
          <label class="check">
            <input type="checkbox" checked={bypass} onChange={(e) => setBypass(e.currentTarget.checked)} />
            Bypass a GOVERNANCE retention lock
          </label>
        </ActionDialog>
      );
  }
}

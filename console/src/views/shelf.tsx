// The vault shelf: archived cartridges and the ones on their way there or
// back, with the progress of each archival and retrieval as the gateway
// reports it; cancel archival, retrieve (with a tier), cancel retrieval,
// delete the archive.
import { useMemo, useState } from 'preact/hooks';
import type { RetrievalTier, ShelfStatus, ShelfTapeInfo } from '../../../src/shelf/shelf-service.ts';
import { actions } from '../actions.ts';
import { ActionDialog } from '../components/action-dialog.tsx';
import { BarcodeFilter, ChoiceFilter, Loading, PollProblem, RowAction, ViewHeading } from '../components/common.tsx';
import { PagedTable } from '../components/paged-table.tsx';
import { count, counted, dateTime, humanSize, place, SHELF_STATUS } from '../format.ts';
import { useApi, usePoll } from '../live.ts';

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
  const [acting, setActing] = useState<{ action: ShelfAction; tape: ShelfTapeInfo }>();

  const all = shelf.data?.tapes;
  const shown = useMemo(() => {
    const wanted = barcode.trim().toUpperCase();
    return (all ?? []).filter((t) => t.barcode.includes(wanted) && (status === '' || t.status === status));
  }, [all, barcode, status]);
  const moving = (all ?? []).filter((t) => t.progress !== undefined).length;

  return (
    <>
      <ViewHeading title="Shelf">
        {all && `${counted(all.length, 'cartridge')} on the shelf, ${count(moving)} being archived or retrieved`}
      </ViewHeading>
      <PollProblem error={shelf.error} />
      <div class="toolbar">
        <div class="filters" role="group" aria-label="Filters">
          <BarcodeFilter value={barcode} onChange={setBarcode} />
          <ChoiceFilter
            label="Status"
            value={status}
            choices={Object.entries(SHELF_STATUS) as [ShelfStatus, string][]}
            onChange={setStatus}
          />
        </div>
      </div>
      {all ? (
        <PagedTable
          key={`${barcode}|${status}`}
          label="Shelf"
          rows={shown}
          rowKey={(tape) => tape.barcode}
          empty={all.length === 0 ? 'The shelf is empty: archive a tape from the Tapes view.' : 'No cartridge matches.'}
          columns={[
            { header: 'Barcode', cell: (tape) => tape.barcode },
            {
              header: 'Status',
              cell: (tape) => (
                <>
                  <span class={`chip shelf-${tape.status}`}>{SHELF_STATUS[tape.status]}</span>
                  {tape.location && <span class="under">{place(tape.location)}</span>}
                  {tape.error && <span class="under error-text">{tape.error}</span>}
                </>
              ),
            },
            {
              header: 'Progress',
              cell: (tape) =>
                tape.progress !== undefined && (
                  <span class="progress">
                    <progress max={100} value={tape.progress} aria-label={`${tape.barcode} ${SHELF_STATUS[tape.status].toLowerCase()}`} />
                    <span>{Math.floor(tape.progress)}%</span>
                  </span>
                ),
            },
            { header: 'Pool', cell: (tape) => tape.pool },
            { header: 'Used', number: true, cell: (tape) => humanSize(tape.usedBytes) },
            { header: 'Archive', number: true, cell: (tape) => (tape.archiveBytes === undefined ? '-' : humanSize(tape.archiveBytes)) },
            { header: 'Archived', cell: (tape) => dateTime(tape.archivedAt) },
            { header: 'Retained until', cell: (tape) => (tape.retentionUntil ? dateTime(tape.retentionUntil) : '-') },
            {
              header: 'Actions',
              hiddenHeader: true,
              cell: (tape) => (
                <div class="row-actions">
                  {ACTIONS[tape.status].map((action) => (
                    <RowAction
                      key={action}
                      label={`${ACTION_LABEL[action]} ${tape.barcode}`}
                      danger={action === 'delete'}
                      onClick={() => setActing({ action, tape })}
                    >
                      {ACTION_LABEL[action]}
                    </RowAction>
                  ))}
                </div>
              ),
            },
          ]}
        />
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
        <ActionDialog
          {...common}
          title={`Cancel the archival of ${barcode}?`}
          action="Cancel archival"
          done={`${barcode} is back in a storage slot with its data.`}
          run={() => actions.cancelArchival(api, barcode)}
        >
          <p>{barcode} goes back to a free storage slot, AVAILABLE, with its data.</p>
        </ActionDialog>
      );
    case 'retrieve':
      return (
        <ActionDialog
          {...common}
          title={`Retrieve ${barcode}`}
          action="Retrieve"
          done={`Retrieving ${barcode}: it comes back read-only to an import/export slot.`}
          run={() => actions.retrieve(api, barcode, tier || undefined)}
        >
          <p>
            {barcode} comes back from pool {pool}, read-only, into a free import/export slot.
          </p>
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
        <ActionDialog
          {...common}
          title={`Cancel the retrieval of ${barcode}?`}
          action="Cancel retrieval"
          done={`${barcode} is ARCHIVED again.`}
          run={() => actions.cancelRetrieval(api, barcode)}
        >
          <p>{barcode} stays on the shelf, ARCHIVED.</p>
        </ActionDialog>
      );
    case 'delete':
      return (
        <ActionDialog
          {...common}
          title={`Delete the archive of ${barcode}?`}
          action="Delete"
          danger
          done={`Deleted the archive of ${barcode}.`}
          run={() => actions.deleteArchive(api, barcode, bypass)}
        >
          <p>The archive of {barcode} is deleted for good: nothing can bring it back.</p>
          <label class="check">
            <input type="checkbox" checked={bypass} onChange={(e) => setBypass(e.currentTarget.checked)} />
            Bypass a GOVERNANCE retention lock
          </label>
        </ActionDialog>
      );
  }
}

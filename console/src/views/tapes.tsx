// The cartridges in the library as a table, filtered by barcode, status and
// pool, a page at a time; create tapes, archive or delete one.
import { useMemo, useState } from 'preact/hooks';
import type { PoolInfo, TapeInfo, TapeStatus } from '../../../src/tape/tape-service.ts';
import { actions } from '../actions.ts';
import { ActionDialog } from '../components/action-dialog.tsx';
import { BarcodeFilter, ChoiceFilter, Loading, PollProblem, RowAction, ViewHeading } from '../components/common.tsx';
import { PagedTable } from '../components/paged-table.tsx';
import { TapeActionDialog, TapeDetails, type TapeAction } from '../components/tape-dialogs.tsx';
import { counted, dateTime, humanSize, place, TAPE_STATUS } from '../format.ts';
import { useApi, usePoll } from '../live.ts';

const GiB = 2 ** 30;

export function TapesView() {
  const tapes = usePoll<{ tapes: TapeInfo[] }>('/tapes');
  const pools = usePoll<{ pools: PoolInfo[] }>('/pools', 10_000);
  const [barcode, setBarcode] = useState('');
  const [status, setStatus] = useState<TapeStatus | ''>('');
  const [pool, setPool] = useState('');
  const [creating, setCreating] = useState(false);
  const [acting, setActing] = useState<{ action: TapeAction; tape: TapeInfo }>();
  const [open, setOpen] = useState<string>();

  const all = tapes.data?.tapes;
  const shown = useMemo(() => {
    const wanted = barcode.trim().toUpperCase();
    return (all ?? []).filter(
      (t) => t.barcode.includes(wanted) && (status === '' || t.status === status) && (pool === '' || t.pool === pool),
    );
  }, [all, barcode, status, pool]);

  return (
    <>
      <ViewHeading title="Tapes">{all && `${counted(all.length, 'cartridge')} in the library`}</ViewHeading>
      <PollProblem error={tapes.error} />
      <div class="toolbar">
        <button type="button" class="button primary" onClick={() => setCreating(true)}>
          Create tapes…
        </button>
        <div class="filters" role="group" aria-label="Filters">
          <BarcodeFilter value={barcode} onChange={setBarcode} />
          <ChoiceFilter
            label="Status"
            value={status}
            choices={Object.entries(TAPE_STATUS) as [TapeStatus, string][]}
            onChange={setStatus}
          />
          <ChoiceFilter
            label="Pool"
            value={pool}
            choices={(pools.data?.pools ?? []).map((p) => [p.name, p.name] as const)}
            onChange={setPool}
          />
        </div>
      </div>
      {all ? (
        <PagedTable
          key={`${barcode}|${status}|${pool}`}
          label="Tapes"
          rows={shown}
          rowKey={(tape) => tape.barcode}
          empty="No cartridge matches."
          columns={[
            {
              header: 'Barcode',
              cell: (tape) => (
                <button type="button" class="link" onClick={() => setOpen(tape.barcode)}>
                  {tape.barcode}
                </button>
              ),
            },
            { header: 'Status', cell: (tape) => <span class={`chip tape-${tape.status}`}>{TAPE_STATUS[tape.status]}</span> },
            { header: 'Location', cell: (tape) => place(tape.location) },
            { header: 'Used', number: true, cell: (tape) => humanSize(tape.usedBytes) },
            { header: 'Size', number: true, cell: (tape) => humanSize(tape.sizeBytes) },
            { header: 'Pool', cell: (tape) => tape.pool },
            { header: 'WORM', cell: (tape) => (tape.worm ? 'Yes' : 'No') },
            { header: 'Retained until', cell: (tape) => (tape.retentionUntil ? dateTime(tape.retentionUntil) : '-') },
            {
              header: 'Actions',
              hiddenHeader: true,
              cell: (tape) => (
                <div class="row-actions">
                  <RowAction label={`Archive ${tape.barcode}`} onClick={() => setActing({ action: 'archive', tape })}>
                    Archive
                  </RowAction>
                  <RowAction label={`Delete ${tape.barcode}`} danger onClick={() => setActing({ action: 'delete', tape })}>
                    Delete
                  </RowAction>
                </div>
              ),
            },
          ]}
        />
      ) : (
        <Loading />
      )}
      {creating && <CreateTapesDialog pools={pools.data?.pools ?? []} onClose={() => setCreating(false)} />}
      {acting && <TapeActionDialog action={acting.action} tape={acting.tape} onClose={() => setActing(undefined)} />}
      {open && <TapeDetails barcode={open} tape={all?.find((t) => t.barcode === open)} onClose={() => setOpen(undefined)} />}
    </>
  );
}

const UNITS = { GiB, TiB: 1024 * GiB } as const;

function CreateTapesDialog(props: { readonly pools: readonly PoolInfo[]; readonly onClose: () => void }) {
  const api = useApi();
  const [tapeCount, setTapeCount] = useState('5');
  const [prefix, setPrefix] = useState('');
  const [size, setSize] = useState('2.5');
  const [unit, setUnit] = useState<keyof typeof UNITS>('TiB');
  const [pool, setPool] = useState('');
  const [worm, setWorm] = useState(false);
  const request = () => ({
    count: Number(tapeCount),
    barcodePrefix: prefix.trim().toUpperCase(),
    sizeBytes: Math.round(Number(size) * UNITS[unit]),
    ...(pool ? { pool } : {}),
    ...(worm ? { worm } : {}),
  });
  return (
    <ActionDialog
      title="Create tapes"
      action="Create"
      done={`Created ${tapeCount} tape${tapeCount === '1' ? '' : 's'} with prefix ${prefix.trim().toUpperCase()} in free storage slots.`}
      run={() => actions.createTapes(api, request())}
      onClose={props.onClose}
    >
      <div class="form-grid">
        <label for="create-count">Count</label>
        <input
          id="create-count"
          type="number"
          min={1}
          step={1}
          required
          value={tapeCount}
          onInput={(e) => setTapeCount(e.currentTarget.value)}
        />
        <label for="create-prefix">Barcode prefix</label>
        <div>
          <input
            id="create-prefix"
            required
            value={prefix}
            onInput={(e) => setPrefix(e.currentTarget.value)}
            aria-describedby="create-prefix-hint"
            autocomplete="off"
            spellcheck={false}
            maxLength={4}
          />
          <p id="create-prefix-hint" class="hint">
            1 to 4 letters; the gateway numbers the tapes after it.
          </p>
        </div>
        <label for="create-size">Size</label>
        <div class="size-input">
          <input id="create-size" type="number" min={0} step="any" required value={size} onInput={(e) => setSize(e.currentTarget.value)} />
          <select aria-label="Size unit" value={unit} onChange={(e) => setUnit(e.currentTarget.value as keyof typeof UNITS)}>
            {Object.keys(UNITS).map((u) => (
              <option key={u} value={u}>
                {u}
              </option>
            ))}
          </select>
        </div>
        <label for="create-pool">Pool</label>
        <select id="create-pool" value={pool} onChange={(e) => setPool(e.currentTarget.value)}>
          <option value="">Default (GLACIER)</option>
          {props.pools.map((p) => (
            <option key={p.name} value={p.name}>
              {p.name}
              {p.retention.mode === 'NONE' ? '' : ` (${p.retention.mode}, ${p.retention.days} days)`}
            </option>
          ))}
        </select>
        <span />
        <label class="check">
          <input type="checkbox" checked={worm} onChange={(e) => setWorm(e.currentTarget.checked)} />
          WORM: write once, read many
        </label>
      </div>
    </ActionDialog>
  );
}

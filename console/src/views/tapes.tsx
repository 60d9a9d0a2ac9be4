// The cartridges in the library as a table, filtered by barcode, status and
// pool, 50 rows to a page; create tapes, archive or delete one.
import { useMemo, useState } from 'preact/hooks';
import type { PoolInfo, TapeInfo, TapeStatus } from '../../../src/tape/tape-service.ts';
import { actions } from '../actions.ts';
import { ActionDialog } from '../components/action-dialog.tsx';
import { Loading, Pager, PollProblem, TableScroller, ViewHeading } from '../components/common.tsx';
import { TapeActionDialog, TapeDetails, type TapeAction } from '../components/tape-dialogs.tsx';
import { count, counted, dateTime, humanSize, place, TAPE_STATUS } from '../format.ts';
import { useApi, usePoll } from '../live.ts';

const ROWS = 50;
const GiB = 2 ** 30;

export function TapesView() {
  const tapes = usePoll<{ tapes: TapeInfo[] }>('/tapes');
  const pools = usePoll<{ pools: PoolInfo[] }>('/pools', 10_000);
  const [barcode, setBarcode] = useState('');
  const [status, setStatus] = useState<TapeStatus | ''>('');
  const [pool, setPool] = useState('');
  const [page, setPage] = useState(0);
  const [creating, setCreating] = useState(false);
  const [acting, setActing] = useState<{ action: TapeAction; tape: TapeInfo }>();
  const [open, setOpen] = useState<string>();

  const all = tapes.data?.tapes;
  const shown = useMemo(() => {
    const wanted = barcode.trim().toUpperCase();
    return (all ?? []).filter((t) => t.barcode.includes(wanted) && (status === '' || t.status === status) && (pool === '' || t.pool === pool));
  }, [all, barcode, status, pool]);
  const pages = Math.max(1, Math.ceil(shown.length / ROWS));
  const current = Math.min(page, pages - 1);
  const rows = shown.slice(current * ROWS, current * ROWS + ROWS);
  const filter = <T,>(set: (value: T) => void) => (value: T) => {
    set(value);
    setPage(0);
  };

  return (
    <>
      <ViewHeading title="Tapes">{all && `${counted(all.length, 'cartridge')} in the library`}</ViewHeading>
      <PollProblem error={tapes.error} />
      <div class="toolbar">
        <button type="button" class="button primary" onClick={() => setCreating(true)}>
          Create tapes…
        </button>
        <div class="filters" role="group" aria-label="Filters">
          <label>
            Barcode
            <input value={barcode} onInput={(e) => filter(setBarcode)(e.currentTarget.value)} autocomplete="off" spellcheck={false} />
          </label>
          <label>
            Status
            <select value={status} onChange={(e) => filter(setStatus)(e.currentTarget.value as TapeStatus | '')}>
              <option value="">Any</option>
              {Object.entries(TAPE_STATUS).map(([value, text]) => (
                <option key={value} value={value}>
                  {text}
                </option>
              ))}
            </select>
          </label>
          <label>
            Pool
            <select value={pool} onChange={(e) => filter(setPool)(e.currentTarget.value)}>
              <option value="">Any</option>
              {pools.data?.pools.map((p) => (
                <option key={p.name} value={p.name}>
                  {p.name}
                </option>
              ))}
            </select>
          </label>
        </div>
      </div>
      {all ? (
        <>
          <p class="count" aria-live="polite">
            {shown.length === 0 ? 'No cartridge matches.' : `Showing ${current * ROWS + 1}–${current * ROWS + rows.length} of ${count(shown.length)}`}
          </p>
          <TableScroller label="Tapes">
            <table class="data">
              <thead>
                <tr>
                  <th scope="col">Barcode</th>
                  <th scope="col">Status</th>
                  <th scope="col">Location</th>
                  <th scope="col" class="number">
                    Used
                  </th>
                  <th scope="col" class="number">
                    Size
                  </th>
                  <th scope="col">Pool</th>
                  <th scope="col">WORM</th>
                  <th scope="col">Retained until</th>
                  <th scope="col">
                    <span class="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {rows.map((tape) => (
                  <tr key={tape.barcode}>
                    <th scope="row">
                      <button type="button" class="link" onClick={() => setOpen(tape.barcode)}>
                        {tape.barcode}
                      </button>
                    </th>
                    <td>
                      <span class={`chip tape-${tape.status}`}>{TAPE_STATUS[tape.status]}</span>
                    </td>
                    <td>{place(tape.location)}</td>
                    <td class="number">{humanSize(tape.usedBytes)}</td>
                    <td class="number">{humanSize(tape.sizeBytes)}</td>
                    <td>{tape.pool}</td>
                    <td>{tape.worm ? 'Yes' : 'No'}</td>
                    <td>{tape.retentionUntil ? dateTime(tape.retentionUntil) : '-'}</td>
                    <td class="row-actions">
                      <button type="button" class="button small" aria-label={`Archive ${tape.barcode}`} onClick={() => setActing({ action: 'archive', tape })}>
                        Archive
                      </button>
                      <button type="button" class="button small danger" aria-label={`Delete ${tape.barcode}`} onClick={() => setActing({ action: 'delete', tape })}>
                        Delete
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableScroller>
          <Pager page={current} pages={pages} label="Pages of tapes" onPage={setPage} />
        </>
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
        <input id="create-count" type="number" min={1} step={1} required value={tapeCount} onInput={(e) => setTapeCount(e.currentTarget.value)} />
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

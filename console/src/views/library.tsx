// The library as it is: the drives (what each holds, whether it reads or
// writes and how fast), then the storage and import/export slots as pages of
// cells with barcodes, 100 to a page so 1,600 + 1,600 slots stay quick to
// draw and to move through by keyboard. A cartridge opens its details.
import { useMemo, useState } from 'preact/hooks';
import { latest, sumSeries } from '../../../src/api/metrics-series.ts';
import type { MetricsHistoryAnswer } from '../../../src/api/stats-types.ts';
import type { DriveStatus, LibraryStatus, TapeInfo } from '../../../src/tape/tape-service.ts';
import { Loading, PollProblem, ViewHeading } from '../components/common.tsx';
import { TapeDetails } from '../components/tape-dialogs.tsx';
import { count, counted, humanRate, TAPE_STATUS } from '../format.ts';
import { useHistory, usePoll } from '../live.ts';

const PAGE = 100;
/** Below this a drive is idle: a backup moves megabytes a second, status polls a few hundred bytes. */
const ACTIVE_BYTES_PER_SECOND = 16 * 1024;

type SlotKind = 'slot' | 'import-export';

export function LibraryView() {
  const library = usePoll<LibraryStatus>('/library');
  const tapes = usePoll<{ tapes: TapeInfo[] }>('/tapes');
  const history = useHistory();
  const [open, setOpen] = useState<string>();
  const byBarcode = useMemo(() => new Map((tapes.data?.tapes ?? []).map((tape) => [tape.barcode, tape])), [tapes.data]);
  const status = library.data;
  return (
    <>
      <ViewHeading title="Library">
        {status &&
          `${counted(status.tapes, 'cartridge')} · storage slots ${count(status.slots.full)} of ${count(status.slots.total)} full · import/export slots ${count(status.importExport.full)} of ${count(status.importExport.total)} full`}
      </ViewHeading>
      <PollProblem error={library.error ?? tapes.error} />
      {status && tapes.data ? (
        <>
          <section aria-labelledby="drives-heading">
            <h2 id="drives-heading">Drives</h2>
            <ul class="drives">
              {status.drives.map((drive) => (
                <Drive key={drive.index} drive={drive} history={history.data} onOpen={setOpen} />
              ))}
            </ul>
          </section>
          <Slots status={status} tapes={tapes.data.tapes} onOpen={setOpen} />
        </>
      ) : (
        <Loading />
      )}
      {open && <TapeDetails barcode={open} tape={byBarcode.get(open)} onClose={() => setOpen(undefined)} />}
    </>
  );
}

function Drive(props: {
  readonly drive: DriveStatus;
  readonly history: MetricsHistoryAnswer | undefined;
  readonly onOpen: (barcode: string) => void;
}) {
  const { drive, history } = props;
  const rate = (metric: string) => {
    if (!history) return 0;
    return latest(sumSeries(history, metric, (labels) => labels['target'] === drive.target && labels['lun'] === String(drive.lun))) ?? 0;
  };
  const read = rate('ReadBytes');
  const written = rate('WriteBytes');
  const activity =
    drive.barcode === undefined
      ? { state: 'empty', text: 'Empty' }
      : written >= ACTIVE_BYTES_PER_SECOND
        ? { state: 'writing', text: 'Writing', rate: written }
        : read >= ACTIVE_BYTES_PER_SECOND
          ? { state: 'reading', text: 'Reading', rate: read }
          : { state: 'idle', text: drive.loaded ? 'Idle' : 'Not loaded' };
  const said = activity.rate === undefined ? activity.text : `${activity.text} ${humanRate(activity.rate)}`;
  return (
    <li class={`drive drive-${activity.state}`}>
      <div class="drive-head">
        <span class="drive-name">Drive {drive.index}</span>
        <span class={`activity activity-${activity.state}`}>{activity.text}</span>
      </div>
      {drive.barcode === undefined ? (
        <div class="drive-bay">
          <span class="visually-hidden">No cartridge</span>
        </div>
      ) : (
        <button type="button" class="drive-bay loaded" onClick={() => props.onOpen(drive.barcode!)}>
          <span class="barcode">{drive.barcode}</span>
          <span class="visually-hidden">
            {' '}
            in drive {drive.index}, {said}
          </span>
        </button>
      )}
      <div class="drive-foot">
        <span class="drive-serial">Serial {drive.serial}</span>
        {activity.rate !== undefined && <span class="drive-rate">{humanRate(activity.rate)}</span>}
      </div>
    </li>
  );
}

function Slots(props: { readonly status: LibraryStatus; readonly tapes: readonly TapeInfo[]; readonly onOpen: (barcode: string) => void }) {
  const { status, tapes } = props;
  const [kind, setKind] = useState<SlotKind>('slot');
  const [pages, setPages] = useState<Record<SlotKind, number>>({ slot: 0, 'import-export': 0 });
  const [search, setSearch] = useState('');
  const [searchResult, setSearchResult] = useState<string>();
  const total = kind === 'slot' ? status.slots.total : status.importExport.total;
  const pageCount = Math.max(1, Math.ceil(total / PAGE));
  const page = Math.min(pages[kind], pageCount - 1);
  const inKind = useMemo(() => new Map(tapes.filter((t) => t.location.kind === kind).map((t) => [t.location.index, t])), [tapes, kind]);
  const label = kind === 'slot' ? 'Storage slots' : 'Import/export slots';

  const find = (event: Event) => {
    event.preventDefault();
    const barcode = search.trim().toUpperCase();
    const tape = tapes.find((t) => t.barcode === barcode);
    if (!tape) {
      setSearchResult(`No cartridge ${barcode} in the library: it may be on the shelf, or not exist.`);
      return;
    }
    setSearchResult(undefined);
    if (tape.location.kind !== 'drive') {
      setKind(tape.location.kind);
      setPages({ ...pages, [tape.location.kind]: Math.floor((tape.location.index - 1) / PAGE) });
    }
    props.onOpen(barcode);
  };

  const first = page * PAGE + 1;
  const last = Math.min(total, first + PAGE - 1);
  const cells = [];
  for (let index = first; index <= last; index++) {
    const tape = inKind.get(index);
    cells.push(
      <li key={index} class={tape ? `slot full tape-${tape.status}` : 'slot empty'}>
        {tape ? (
          <>
            <span class="slot-number" aria-hidden="true">
              {index}
            </span>
            <button type="button" onClick={() => props.onOpen(tape.barcode)}>
              <span class="barcode">{tape.barcode}</span>
              <span class="visually-hidden">
                {' '}
                in {kind === 'slot' ? 'slot' : 'import/export slot'} {index}, {TAPE_STATUS[tape.status]}
              </span>
            </button>
          </>
        ) : (
          <span class="slot-number">
            {index}
            <span class="visually-hidden"> empty</span>
          </span>
        )}
      </li>,
    );
  }

  return (
    <section aria-labelledby="slots-heading">
      <div class="section-bar">
        <h2 id="slots-heading">Slots</h2>
        <form class="find" onSubmit={find} role="search">
          <label for="find-barcode">Find a cartridge</label>
          <input
            id="find-barcode"
            value={search}
            onInput={(e) => setSearch(e.currentTarget.value)}
            placeholder="Barcode"
            autocomplete="off"
            spellcheck={false}
          />
          <button type="submit" class="button">
            Find
          </button>
        </form>
      </div>
      <div role="status">{searchResult && <p class="problem">{searchResult}</p>}</div>
      <div class="segmented" role="group" aria-label="Which slots">
        {(['slot', 'import-export'] as const).map((k) => (
          <button key={k} type="button" aria-pressed={k === kind} onClick={() => setKind(k)}>
            {k === 'slot'
              ? `Storage (${count(status.slots.full)}/${count(status.slots.total)})`
              : `Import/export (${count(status.importExport.full)}/${count(status.importExport.total)})`}
          </button>
        ))}
      </div>
      {pageCount > 1 && (
        <ol class="slot-pages" aria-label={`Pages of ${label.toLowerCase()}`}>
          {Array.from({ length: pageCount }, (_, p) => {
            const from = p * PAGE + 1;
            const to = Math.min(total, from + PAGE - 1);
            let full = 0;
            for (const index of inKind.keys()) if (index >= from && index <= to) full++;
            return (
              <li key={p}>
                <button type="button" aria-current={p === page ? 'page' : undefined} onClick={() => setPages({ ...pages, [kind]: p })}>
                  <span>
                    <span class="visually-hidden">{label} </span>
                    {from}–{to}
                    <span class="visually-hidden">, {full} full</span>
                  </span>
                  <span class="fill" aria-hidden="true">
                    <span style={{ width: `${(100 * full) / (to - from + 1)}%` }} />
                  </span>
                </button>
              </li>
            );
          })}
        </ol>
      )}
      <h3 class="slot-range">
        {label} {first}–{last}
      </h3>
      <ol class="slots">{cells}</ol>
      <ul class="legend" aria-label="Colours">
        <li class="tape-AVAILABLE">Available</li>
        <li class="tape-IN_IMPORT_EXPORT">In an import/export slot</li>
        <li class="tape-RETRIEVED">Retrieved, read-only</li>
      </ul>
    </section>
  );
}

// Block volumes and their snapshots: each volume's status (with progress while
// it bootstraps or restores), size, use, cache hits, target, sessions and snapshot
// schedule; each snapshot's status (with progress while it uploads) and what
// it uploaded. Create a volume (new, or restored from a snapshot), take a
// snapshot, delete a volume (forced when an initiator is logged in) or a
// snapshot.
import { useState } from 'preact/hooks';
import type { VolumeType } from '../../../src/volume/volume-catalog.ts';
import type { SnapshotInfo, VolumeInfo } from '../../../src/volume/volume-service.ts';
import { actions } from '../actions.ts';
import { ActionDialog } from '../components/action-dialog.tsx';
import { Loading, PollProblem, RowAction, ViewHeading } from '../components/common.tsx';
import { PagedTable } from '../components/paged-table.tsx';
import { counted, dateTime, humanInterval, humanSize, SNAPSHOT_STATUS, VOLUME_STATUS } from '../format.ts';
import { useApi, usePoll } from '../live.ts';

const GiB = 2 ** 30;

type Acting =
  | { readonly kind: 'create'; readonly from?: SnapshotInfo }
  | { readonly kind: 'snapshot' | 'delete'; readonly volume: VolumeInfo }
  | { readonly kind: 'delete-snapshot'; readonly snapshot: SnapshotInfo };

function Progress(props: { readonly value: number | undefined; readonly label: string }) {
  if (props.value === undefined) return null;
  return (
    <span class="progress">
      <progress max={100} value={props.value} aria-label={props.label} />
      <span>{Math.floor(props.value)}%</span>
    </span>
  );
}

/** Of a cached volume's reads since the gateway started; a stored volume is read from this machine's disk. */
function cacheHits(volume: VolumeInfo): string {
  if (volume.type === 'stored') return 'All local';
  return volume.cacheHitPercent === undefined ? 'No reads yet' : `${volume.cacheHitPercent.toFixed(1)}%`;
}

export function VolumesView() {
  const volumes = usePoll<{ volumes: VolumeInfo[] }>('/volumes');
  const snapshots = usePoll<{ snapshots: SnapshotInfo[] }>('/snapshots');
  const [acting, setActing] = useState<Acting>();
  const allVolumes = volumes.data?.volumes;
  const allSnapshots = snapshots.data?.snapshots;

  return (
    <>
      <ViewHeading title="Volumes">
        {allVolumes && allSnapshots && `${counted(allVolumes.length, 'volume')}, ${counted(allSnapshots.length, 'snapshot')}`}
      </ViewHeading>
      <PollProblem error={volumes.error ?? snapshots.error} />
      <div class="toolbar">
        <button type="button" class="button primary" onClick={() => setActing({ kind: 'create' })}>
          Create volume…
        </button>
      </div>
      {allVolumes ? (
        <PagedTable
          label="Volumes"
          rows={allVolumes}
          rowKey={(v) => v.id}
          empty="No volume yet: create one, or restore one from a snapshot."
          detail={(v) => (
            <>
              <span class="detail-label">iSCSI target:</span> <code>{v.target}</code>
            </>
          )}
          columns={[
            { header: 'Name', cell: (v) => v.name },
            { header: 'Type', cell: (v) => (v.type === 'cached' ? 'Cached' : 'Stored') },
            {
              header: 'Status',
              cell: (v) => (
                <>
                  <span class={`chip volume-${v.status.replace(' ', '_')}`}>{VOLUME_STATUS[v.status]}</span>
                  <Progress value={v.progress} label={`${v.name} ${VOLUME_STATUS[v.status].toLowerCase()}`} />
                  {v.error && <span class="under error-text">{v.error}</span>}
                </>
              ),
            },
            { header: 'Used of size', number: true, cell: (v) => `${humanSize(v.usedBytes)} of ${humanSize(v.sizeBytes)}` },
            { header: 'Cache hits', number: true, cell: cacheHits },
            { header: 'Sessions', number: true, cell: (v) => v.sessions },
            {
              header: 'Snapshots',
              cell: (v) => (
                <>
                  {v.snapshotSchedule.everySeconds === null ? 'Not scheduled' : `Every ${humanInterval(v.snapshotSchedule.everySeconds)}`}
                  {v.lastSnapshotAt && <span class="under">last {dateTime(v.lastSnapshotAt)}</span>}
                </>
              ),
            },
            {
              header: 'Actions',
              hiddenHeader: true,
              cell: (v) => (
                <div class="row-actions">
                  <RowAction label={`Take a snapshot of ${v.name}`} onClick={() => setActing({ kind: 'snapshot', volume: v })}>
                    Snapshot
                  </RowAction>
                  <RowAction label={`Delete ${v.name}`} danger onClick={() => setActing({ kind: 'delete', volume: v })}>
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
      <section aria-labelledby="snapshots-heading">
        <h2 id="snapshots-heading">Snapshots</h2>
        {allSnapshots ? (
          <PagedTable
            label="Snapshots"
            rows={allSnapshots}
            rowKey={(s) => s.id}
            empty="No snapshot yet."
            columns={[
              {
                header: 'Snapshot',
                cell: (s) => (
                  <>
                    {s.id}
                    {s.description && <span class="under">{s.description}</span>}
                  </>
                ),
              },
              { header: 'Volume', cell: (s) => `${s.volumeName} (${s.volumeType})` },
              {
                header: 'Status',
                cell: (s) => (
                  <>
                    <span class={`chip snapshot-${s.status}`}>{SNAPSHOT_STATUS[s.status]}</span>
                    <Progress value={s.progress} label={`${s.id} uploading`} />
                    {s.error && <span class="under error-text">{s.error}</span>}
                  </>
                ),
              },
              { header: 'Taken', cell: (s) => `${dateTime(s.createdAt)}${s.scheduled ? ' (scheduled)' : ''}` },
              { header: 'Uploaded', number: true, cell: (s) => humanSize(s.changedBytes) },
              { header: 'Volume size', number: true, cell: (s) => humanSize(s.sizeBytes) },
              {
                header: 'Actions',
                hiddenHeader: true,
                cell: (s) => (
                  <div class="row-actions">
                    <RowAction
                      label={`Restore ${s.id} as a new volume`}
                      disabled={s.status !== 'COMPLETED'}
                      onClick={() => setActing({ kind: 'create', from: s })}
                    >
                      Restore
                    </RowAction>
                    <RowAction label={`Delete ${s.id}`} danger onClick={() => setActing({ kind: 'delete-snapshot', snapshot: s })}>
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
      </section>
      {acting && <VolumeActionDialog acting={acting} onClose={() => setActing(undefined)} />}
    </>
  );
}

function VolumeActionDialog(props: { readonly acting: Acting; readonly onClose: () => void }) {
  const api = useApi();
  const [description, setDescription] = useState('');
  const [force, setForce] = useState(false);
  const { acting, onClose } = props;
  switch (acting.kind) {
    case 'create':
      return <CreateVolumeDialog from={acting.from} onClose={onClose} />;
    case 'snapshot': {
      const { name } = acting.volume;
      return (
        <ActionDialog
          title={`Take a snapshot of ${name}`}
          action="Take snapshot"
          done={`Snapshot of ${name} started: it uploads what changed since the last one.`}
          run={() => actions.snapshot(api, name, description.trim())}
          onClose={onClose}
        >
          <p>
            A crash-consistent point in time of {name}, as it is when the gateway takes it; only the chunks written since its last snapshot
            are uploaded.
          </p>
          <div class="form-grid">
            <label for="snapshot-description">Description</label>
            <input
              id="snapshot-description"
              value={description}
              onInput={(e) => setDescription(e.currentTarget.value)}
              autocomplete="off"
            />
          </div>
        </ActionDialog>
      );
    }
    case 'delete': {
      const { name, sessions } = acting.volume;
      return (
        <ActionDialog
          title={`Delete ${name}?`}
          action="Delete"
          danger
          done={`Deleted ${name}.`}
          run={() => actions.deleteVolume(api, name, force)}
          onClose={onClose}
        >
          <p>{name} and its data are deleted; its snapshots stay and can be restored.</p>
          {sessions > 0 && <p>An initiator is logged in to it ({counted(sessions, 'session')}).</p>}
          <label class="check">
            <input type="checkbox" checked={force} onChange={(e) => setForce(e.currentTarget.checked)} />
            Delete it even while an initiator is logged in
          </label>
        </ActionDialog>
      );
    }
    case 'delete-snapshot': {
      const { id, volumeName } = acting.snapshot;
      return (
        <ActionDialog
          title={`Delete snapshot ${id}?`}
          action="Delete"
          danger
          done={`Deleted snapshot ${id}.`}
          run={() => actions.deleteSnapshot(api, id)}
          onClose={onClose}
        >
          <p>The snapshot of {volumeName} is deleted; chunks that another snapshot or a volume still needs stay in the bucket.</p>
        </ActionDialog>
      );
    }
  }
}

function CreateVolumeDialog(props: { readonly from: SnapshotInfo | undefined; readonly onClose: () => void }) {
  const api = useApi();
  const { from } = props;
  const [name, setName] = useState('');
  const [type, setType] = useState<VolumeType>(from?.volumeType ?? 'cached');
  const [size, setSize] = useState(String((from?.sizeBytes ?? 100 * GiB) / GiB));
  const [blockSize, setBlockSize] = useState(String(from?.blockSize ?? 512));
  const request = () => ({
    name: name.trim(),
    type,
    sizeBytes: Math.round(Number(size) * GiB),
    ...(from ? { fromSnapshot: from.id } : { blockSize: Number(blockSize) }),
  });
  return (
    <ActionDialog
      title={from ? `Restore ${from.id} as a new volume` : 'Create a volume'}
      action={from ? 'Restore' : 'Create'}
      done={`Created volume ${name.trim()}: its target takes logins now.`}
      run={() => actions.createVolume(api, request())}
      onClose={props.onClose}
    >
      {from && (
        <p>
          A new volume holding {from.volumeName} as it was at {dateTime(from.createdAt)}, usable at once.
        </p>
      )}
      <div class="form-grid">
        <label for="volume-name">Name</label>
        <input
          id="volume-name"
          required
          value={name}
          onInput={(e) => setName(e.currentTarget.value)}
          autocomplete="off"
          spellcheck={false}
        />
        <label for="volume-type">Type</label>
        <select id="volume-type" value={type} onChange={(e) => setType(e.currentTarget.value as VolumeType)}>
          <option value="cached">Cached: the bucket holds it, the cache its hot data (up to 32 TiB)</option>
          <option value="stored">Stored: all of it on this machine, copied to the bucket (up to 16 TiB)</option>
        </select>
        <label for="volume-size">Size (GiB)</label>
        <input id="volume-size" type="number" min={1} step="any" required value={size} onInput={(e) => setSize(e.currentTarget.value)} />
        {!from && (
          <>
            <label for="volume-block-size">Block size</label>
            <select id="volume-block-size" value={blockSize} onChange={(e) => setBlockSize(e.currentTarget.value)}>
              <option value="512">512 bytes</option>
              <option value="4096">4096 bytes</option>
            </select>
          </>
        )}
      </div>
    </ActionDialog>
  );
}

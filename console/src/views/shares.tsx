// The NFS file shares: each share's bucket and prefix, export path, how a
// client mounts it, its access and cache-stale timeout (as AWS's console
// calls it, its automated cache refresh), and its upload state
// live (files and bytes not yet in the bucket, uploads failing); create a
// share, refresh one from its bucket, delete one.
import { useState } from 'preact/hooks';
import type { ShareAnswer } from '../../../src/api/share-routes.ts';
import type { Squash } from '../../../src/share/fs/access.ts';
import { actions } from '../actions.ts';
import { ActionDialog } from '../components/action-dialog.tsx';
import { Loading, PollProblem, RowAction, ViewHeading } from '../components/common.tsx';
import { PagedTable } from '../components/paged-table.tsx';
import { count, counted, humanSize } from '../format.ts';
import { useApi, usePoll } from '../live.ts';

type Acting = { readonly kind: 'create' } | { readonly kind: 'refresh' | 'delete'; readonly share: ShareAnswer };

/** Where a share's changes stand: all in the bucket, on their way, or failing (the gateway retries and logs why). */
function UploadState(props: { readonly share: ShareAnswer }) {
  const { filesDirty, bytesDirty, filesFailingUpload } = props.share;
  if (filesFailingUpload > 0) {
    return (
      <>
        <span class="chip share-FAILING">Upload failing</span>
        <span class="under error-text">{counted(filesFailingUpload, 'file')} failing: the gateway retries them and logs why</span>
      </>
    );
  }
  if (filesDirty > 0) {
    return (
      <>
        <span class="chip share-UPLOADING">Uploading</span>
        <span class="under">
          {counted(filesDirty, 'file')} ({humanSize(bytesDirty)}) to upload
        </span>
      </>
    );
  }
  return <span class="chip share-UPLOADED">All uploaded</span>;
}

/** "s3://bucket/prefix/" as tapegw prints it. */
const location = (share: ShareAnswer) => `s3://${share.bucket}/${share.prefix}`;

function staleTimeout(seconds: number): string {
  return seconds === 0 ? 'On demand' : `After ${count(seconds)} s`;
}

export function SharesView() {
  const shares = usePoll<{ shares: ShareAnswer[] }>('/shares');
  const [acting, setActing] = useState<Acting>();
  const all = shares.data?.shares;
  const waiting = (all ?? []).reduce((sum, s) => sum + s.filesDirty, 0);

  return (
    <>
      <ViewHeading title="File shares">
        {all && `${counted(all.length, 'NFS share')}, ${counted(waiting, 'file')} not yet uploaded`}
      </ViewHeading>
      <PollProblem error={shares.error} />
      <div class="toolbar">
        <button type="button" class="button primary" onClick={() => setActing({ kind: 'create' })}>
          Create share…
        </button>
      </div>
      {all ? (
        <PagedTable
          label="File shares"
          rows={all}
          rowKey={(s) => s.name}
          empty="No share yet: create one on a bucket, or a prefix in one."
          detail={(s) => (
            <>
              <span class="detail-label">Mount from a client:</span> <code class="command">{s.mount}</code>
            </>
          )}
          columns={[
            {
              header: 'Name',
              cell: (s) => (
                <>
                  {s.name}
                  <span class="under">exported as {s.exportPath}</span>
                </>
              ),
            },
            { header: 'Location', cell: (s) => <code>{location(s)}</code> },
            { header: 'Status', cell: (s) => <UploadState share={s} /> },
            {
              header: 'Access',
              cell: (s) => (
                <>
                  {s.readOnly ? 'Read-only' : 'Read-write'}, squash {s.squash}
                  <span class="under">{s.clients.length === 0 ? 'any client' : s.clients.join(', ')}</span>
                </>
              ),
            },
            { header: 'Cache refresh', cell: (s) => staleTimeout(s.cacheStaleTimeoutSeconds) },
            {
              header: 'Actions',
              hiddenHeader: true,
              cell: (s) => (
                <div class="row-actions">
                  <RowAction label={`Refresh ${s.name}`} onClick={() => setActing({ kind: 'refresh', share: s })}>
                    Refresh
                  </RowAction>
                  <RowAction label={`Delete ${s.name}`} danger onClick={() => setActing({ kind: 'delete', share: s })}>
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
      {acting?.kind === 'create' && <CreateShareDialog onClose={() => setActing(undefined)} />}
      {acting?.kind === 'refresh' && <RefreshShareDialog share={acting.share} onClose={() => setActing(undefined)} />}
      {acting?.kind === 'delete' && <DeleteShareDialog share={acting.share} onClose={() => setActing(undefined)} />}
    </>
  );
}

/** A field left empty is left out of the request, so that the gateway's default applies. */
function wholeNumber(text: string): number | undefined {
  return text.trim() === '' ? undefined : Number(text);
}

function CreateShareDialog(props: { readonly onClose: () => void }) {
  const api = useApi();
  const [name, setName] = useState('');
  const [bucket, setBucket] = useState('');
  const [prefix, setPrefix] = useState('');
  const [readOnly, setReadOnly] = useState(false);
  const [squash, setSquash] = useState<Squash>('root');
  const [clients, setClients] = useState('');
  const [stale, setStale] = useState('0');
  const [settle, setSettle] = useState('');
  const request = () => {
    const allowed = clients
      .split(',')
      .map((entry) => entry.trim())
      .filter((entry) => entry !== '');
    const staleSeconds = wholeNumber(stale);
    const settleSeconds = wholeNumber(settle);
    return {
      name: name.trim(),
      bucket: bucket.trim(),
      ...(prefix.trim() ? { prefix: prefix.trim() } : {}),
      ...(readOnly ? { readOnly } : {}),
      squash,
      ...(allowed.length > 0 ? { clients: allowed } : {}),
      ...(staleSeconds === undefined ? {} : { cacheStaleTimeoutSeconds: staleSeconds }),
      ...(settleSeconds === undefined ? {} : { settleSeconds }),
    };
  };
  return (
    <ActionDialog
      title="Create a file share"
      action="Create"
      done={(share) => `Created share ${share?.name ?? name.trim()}, exported as ${share?.exportPath ?? `/${name.trim()}`}.`}
      run={() => actions.createShare(api, request())}
      onClose={props.onClose}
    >
      <div class="form-grid">
        <label for="share-name">Name</label>
        <div>
          <input
            id="share-name"
            required
            value={name}
            onInput={(e) => setName(e.currentTarget.value)}
            aria-describedby="share-name-hint"
            autocomplete="off"
            spellcheck={false}
          />
          <p id="share-name-hint" class="hint">
            Lower-case letters, digits and hyphens; clients mount /NAME.
          </p>
        </div>
        <label for="share-bucket">Bucket</label>
        <input
          id="share-bucket"
          required
          value={bucket}
          onInput={(e) => setBucket(e.currentTarget.value)}
          autocomplete="off"
          spellcheck={false}
        />
        <label for="share-prefix">Prefix</label>
        <div>
          <input
            id="share-prefix"
            value={prefix}
            onInput={(e) => setPrefix(e.currentTarget.value)}
            aria-describedby="share-prefix-hint"
            autocomplete="off"
            spellcheck={false}
          />
          <p id="share-prefix-hint" class="hint">
            A folder of the bucket such as site-a/; empty for the whole bucket.
          </p>
        </div>
        <label for="share-squash">Squash</label>
        <select id="share-squash" value={squash} onChange={(e) => setSquash(e.currentTarget.value as Squash)}>
          <option value="root">Root: root is the anonymous user</option>
          <option value="all">All: everyone is the anonymous user</option>
          <option value="none">None: users are who they say</option>
        </select>
        <label for="share-clients">Allowed clients</label>
        <div>
          <input
            id="share-clients"
            value={clients}
            onInput={(e) => setClients(e.currentTarget.value)}
            aria-describedby="share-clients-hint"
            autocomplete="off"
            spellcheck={false}
          />
          <p id="share-clients-hint" class="hint">
            Addresses or CIDR blocks, separated by commas, e.g. 10.0.0.0/8; empty for any client.
          </p>
        </div>
        <label for="share-stale">Cache stale timeout (s)</label>
        <div>
          <input
            id="share-stale"
            type="number"
            min={0}
            step={1}
            value={stale}
            onInput={(e) => setStale(e.currentTarget.value)}
            aria-describedby="share-stale-hint"
          />
          <p id="share-stale-hint" class="hint">
            How long a directory's listing is trusted before the bucket is listed again: 0 for only on refresh, else 300 to 2,592,000.
          </p>
        </div>
        <label for="share-settle">Settling time (s)</label>
        <div>
          <input
            id="share-settle"
            type="number"
            min={0}
            step="any"
            placeholder="5"
            value={settle}
            onInput={(e) => setSettle(e.currentTarget.value)}
            aria-describedby="share-settle-hint"
          />
          <p id="share-settle-hint" class="hint">
            How long a file stays unchanged before it is uploaded; empty for the gateway's 5 s.
          </p>
        </div>
        <span />
        <label class="check">
          <input type="checkbox" checked={readOnly} onChange={(e) => setReadOnly(e.currentTarget.checked)} />
          Read-only: clients may read, never write
        </label>
      </div>
    </ActionDialog>
  );
}

const directories = (n: number) => (n === 1 ? '1 directory' : `${count(n)} directories`);

function RefreshShareDialog(props: { readonly share: ShareAnswer; readonly onClose: () => void }) {
  const api = useApi();
  const [path, setPath] = useState('');
  const [recursive, setRecursive] = useState(false);
  const { name } = props.share;
  return (
    <ActionDialog
      title={`Refresh ${name}`}
      action="Refresh"
      done={(answer) => `Refreshed ${directories(answer?.directories ?? 0)} of share ${name} from its bucket.`}
      run={() => actions.refreshShare(api, name, path.trim(), recursive)}
      onClose={props.onClose}
    >
      <p>
        Lists a directory from {location(props.share)} again now, so that objects other S3 clients put, changed or deleted show to NFS
        clients.
      </p>
      <div class="form-grid">
        <label for="refresh-path">Directory</label>
        <input
          id="refresh-path"
          value={path}
          placeholder="the share's top"
          onInput={(e) => setPath(e.currentTarget.value)}
          autocomplete="off"
          spellcheck={false}
        />
        <span />
        <label class="check">
          <input type="checkbox" checked={recursive} onChange={(e) => setRecursive(e.currentTarget.checked)} />
          Every directory under it too
        </label>
      </div>
    </ActionDialog>
  );
}

function DeleteShareDialog(props: { readonly share: ShareAnswer; readonly onClose: () => void }) {
  const api = useApi();
  const { name, filesDirty } = props.share;
  return (
    <ActionDialog
      title={`Delete share ${name}?`}
      action="Delete"
      danger
      done={`Deleted share ${name}; its objects stay in the bucket.`}
      run={() => actions.deleteShare(api, name)}
      onClose={props.onClose}
    >
      <p>
        The gateway stops exporting {props.share.exportPath} and forgets the share; its objects stay in {location(props.share)}.
      </p>
      {filesDirty > 0 && (
        <p class="problem">
          {counted(filesDirty, 'file')} of the share {filesDirty === 1 ? 'has' : 'have'} changes not yet in the bucket: wait until the share
          shows All uploaded (tapegw share wait-uploaded {name}), or those changes may never reach it.
        </p>
      )}
    </ActionDialog>
  );
}

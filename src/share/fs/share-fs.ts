// One share's file system: paths mapped to objects (a file is the object at
// prefix + path, a directory the object "path/"), POSIX attributes in the
// objects' metadata, the namespace in the catalog (node-table.ts), and the
// bucket's own changes brought in by listing one directory at a time (on first
// use, after the cache-stale timeout, or on refresh). Knows nothing of NFS.
import { KeyedLock } from '../../cache/keyed-lock.ts';
import type { Section } from '../../catalog/catalog.ts';
import type { Logger } from '../../log.ts';
import {
  Access,
  effectiveCaller,
  mayRead,
  maySearch,
  mayWrite,
  type Caller,
  type ClaimedIdentity,
  type ClientList,
  type Squash,
} from './access.ts';
import { fromMetadata, now, timeFromDate, toMetadata, type Defaults, type NodeType, type Time } from './attributes.ts';
import { must } from '../../must.ts';
import { FsError } from './errors.ts';
import { checkKey, checkName, checkNewName, isShowableName, SYMLINK_MAX } from './names.ts';
import { ReadAhead, type HeldRead } from './read-ahead.ts';
import { NodeTable, ROOT_ID, sameTime, type ChildRef, type NodeRecord } from './node-table.ts';
import { SettleUploader } from './settle-uploader.ts';
import type { ShareObjects } from './share-objects.ts';

export interface ShareSettings {
  readonly name: string;
  /** Numeric id, unique in the gateway and never reused: it is in every file handle. */
  readonly id: number;
  readonly readOnly: boolean;
  readonly squash: Squash;
  readonly anonUid: number;
  readonly anonGid: number;
  readonly clients: ClientList;
  /** Mode and owner for objects without metadata. */
  readonly defaults: Defaults;
  /** A directory is listed from the bucket again when its listing is older than this; 0: only on refresh. */
  readonly cacheStaleTimeoutMs: number;
  /** A file is uploaded once it has not changed for this long. */
  readonly settleMs: number;
  /** The share's key prefix in its bucket, counted in the 1,024-byte key limit. */
  readonly keyPrefix: string;
}

export interface SetAttributes {
  readonly mode?: number;
  readonly uid?: number;
  readonly gid?: number;
  readonly size?: number;
  /** 'server': the server's clock; a Time: the client's. */
  readonly atime?: 'server' | Time;
  readonly mtime?: 'server' | Time;
}

export type CreateHow =
  | { readonly mode: 'unchecked' | 'guarded'; readonly attributes: SetAttributes }
  | { readonly mode: 'exclusive'; readonly verifier: Buffer };

export type Stability = 'unstable' | 'data' | 'file';

export interface DirEntry {
  /** Cookie to resume after this entry. */
  readonly cookie: number;
  readonly id: number;
  readonly name: string;
  /** Asked for with `withNodes` (READDIRPLUS): the node, when its attributes are known without asking the bucket. */
  readonly node?: NodeRecord;
}

export interface FsStats {
  /** Files, directories and links with changes not yet in the bucket, and the bytes their objects hold. */
  readonly filesDirty: number;
  readonly bytesDirty: number;
  readonly filesFailingUpload: number;
}

/** The largest file: AWS's file gateway's 5 TiB. */
export const MAX_FILE_SIZE = 5 * 1024 ** 4;

const EMPTY = Buffer.alloc(0);
/** Sequential READs at least this large have the next range read while they go out (read-ahead.ts). */
const READ_AHEAD_MIN = 64 * 1024;
/** Files read ahead at once. */
const READ_AHEAD_FILES = 8;
/** Ranges read ahead of each (of at most one READ's 1 MiB: 16 MiB of the engine's pool in all, at most). */
const READ_AHEAD_DEPTH = 2;

/** What a node's upload sends: a directory is an empty marker object. */
const uploadBytes = (node: Pick<NodeRecord, 'type' | 'size'>) => (node.type === 'dir' ? 0 : node.size);

export class ShareFs {
  private readonly locks = new KeyedLock();
  private readonly listing = new Map<number, Promise<void>>();
  /** Changes per node since start, to tell whether an upload saw the latest. */
  private readonly generations = new Map<number, number>();
  private readonly uploader: SettleUploader;
  private readonly moves = new Map<number, Promise<void>>();
  private readonly readAhead = new ReadAhead(READ_AHEAD_FILES, READ_AHEAD_DEPTH);

  private constructor(
    readonly settings: ShareSettings,
    private readonly table: NodeTable,
    private readonly objects: ShareObjects,
    private readonly logger: Logger,
  ) {
    this.uploader = new SettleUploader({ upload: (id, hurry) => this.upload(id, hurry) }, settings.settleMs, logger);
  }

  static async open(options: {
    settings: ShareSettings;
    section: Section<unknown>;
    objects: ShareObjects;
    logger: Logger;
  }): Promise<ShareFs> {
    const { settings } = options;
    const table = new NodeTable(options.section, settings.id);
    const t = now();
    await table.open(() => ({
      id: ROOT_ID,
      parent: ROOT_ID,
      name: '',
      type: 'dir',
      mode: settings.defaults.dirMode,
      uid: settings.defaults.uid,
      gid: settings.defaults.gid,
      atime: t,
      mtime: t,
      ctime: t,
      size: 0,
      key: '',
      headed: true,
    }));
    const fs = new ShareFs(settings, table, options.objects, options.logger);
    await fs.resume();
    return fs;
  }

  /** After a restart: changes not yet uploaded are queued again, and unfinished directory moves resume. */
  private async resume(): Promise<void> {
    for (const id of await this.table.dirtyIds()) {
      const node = await this.table.get(id);
      if (!node) continue;
      let size = node.size;
      if (node.type === 'file') {
        // The engine cuts a file to what was last made durable; the size it reports is the truth.
        size = (await this.objects.size(node.key)) ?? 0;
        if (size !== node.size) await this.table.commit(this.table.changes().put({ ...node, size }));
      }
      this.uploader.touched(id, uploadBytes({ ...node, size }));
      if (node.type === 'dir' && node.key !== (await this.pathKey(node))) this.startMove(node.id);
    }
  }

  get rootId(): number {
    return ROOT_ID;
  }

  /** A client's request for this share is being served: its settled files' uploads wait until clients pause (within the engine's bounds). */
  noteRequest(): void {
    this.objects.noteRequest();
  }

  caller(claimed: ClaimedIdentity): Caller {
    return effectiveCaller(claimed, this.settings.squash, this.settings.anonUid, this.settings.anonGid);
  }

  stats(): FsStats {
    return { filesDirty: this.uploader.dirtyCount, bytesDirty: this.uploader.dirtyBytes, filesFailingUpload: this.uploader.failingCount };
  }

  // ---- reading the namespace

  /** The node, its attributes read from the object's metadata if not known yet. STALE when it no longer exists. */
  async getattr(id: number): Promise<NodeRecord> {
    const node = await this.table.get(id);
    if (!node) throw new FsError('STALE', `file id ${id} no longer exists`);
    return node.headed ? node : this.head(node);
  }

  async lookup(dirId: number, name: string, caller: Caller): Promise<NodeRecord> {
    const dir = await this.directory(dirId);
    if (!maySearch(caller, dir)) throw new FsError('ACCES', 'no search permission on the directory');
    if (name === '.') return dir;
    if (name === '..') return this.getattr(dir.parent);
    checkName(name);
    await this.listed(dir);
    const id = await this.table.childId(dir.id, name);
    const node = id === undefined ? undefined : await this.table.get(id);
    if (!node) throw new FsError('NOENT', `no ${JSON.stringify(name)} in the directory`);
    return node.headed ? node : this.head(node);
  }

  /** Which of the asked ACCESS3 bits the caller has. */
  async access(id: number, caller: Caller, asked: number): Promise<{ node: NodeRecord; granted: number }> {
    const node = await this.getattr(id);
    const read = mayRead(caller, node);
    const write = mayWrite(caller, node) && !this.settings.readOnly;
    const exec = maySearch(caller, node);
    let granted = 0;
    if (read) granted |= Access.Read;
    if (node.type === 'dir') {
      if (exec) granted |= Access.Lookup;
      if (write) granted |= Access.Modify | Access.Extend | Access.Delete;
    } else {
      if (write) granted |= Access.Modify | Access.Extend;
      if (exec) granted |= Access.Execute;
    }
    return { node, granted: granted & asked };
  }

  async readlink(id: number): Promise<string> {
    const node = await this.getattr(id);
    if (node.type !== 'symlink') throw new FsError('INVAL', 'not a symbolic link');
    if (node.target !== undefined) return node.target;
    const { data, release } = await this.objects.read(node.key, 0, SYMLINK_MAX);
    const target = data.toString('utf8');
    release();
    return target;
  }

  /** `release()` once done with the data: its memory may be reused. */
  async read(
    id: number,
    caller: Caller,
    offset: number,
    count: number,
  ): Promise<{ node: NodeRecord; data: Buffer; eof: boolean; readonly release: () => void }> {
    const node = await this.getattr(id);
    if (node.type === 'dir') throw new FsError('ISDIR', 'a directory is read with READDIR');
    if (node.type !== 'file') throw new FsError('INVAL', 'not a regular file');
    if (!mayRead(caller, node) && caller.uid !== node.uid) throw new FsError('ACCES', 'no read permission');
    const length = Math.max(0, Math.min(count, node.size - offset));
    let data: Buffer = EMPTY;
    let release = (): void => undefined;
    if (length > 0) {
      const generation = this.generations.get(id) ?? 0;
      const ahead = this.readAhead.take(id, offset, length, generation);
      const read = ahead.read ?? this.objects.read(node.key, offset, length);
      if (ahead.sequential && length >= READ_AHEAD_MIN)
        this.readAhead.extend(id, length, node.size, generation, this.readAfterReply(node.key));
      ({ data, release } = await read);
    }
    if (data.length < length) {
      // Bytes past what the object holds (a file extended by SETATTR) read as zeros.
      data = Buffer.concat([data, Buffer.alloc(length - data.length)]);
      release();
      release = () => undefined;
    }
    return { node, data, eof: offset + data.length >= node.size, release };
  }

  /**
   * Reads for the read-ahead: each waits for the event loop's check phase, after
   * the reply to the READ being served has been written (in the poll phase that
   * brought the call), then has the engine copy and check the bytes on this
   * thread (ReadOptions.onThisThread), while the client takes that reply in.
   */
  private readAfterReply(key: string): (offset: number, length: number) => Promise<HeldRead> {
    return (offset, length) =>
      new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.objects.read(key, offset, length, { onThisThread: true }));
  }

  /**
   * Directory entries after `cookie` (0: from the start; "." and ".." come
   * first), at most `limit`. Cookies are file ids, so a listing resumes in
   * place whatever was added or removed meanwhile. `withNodes`: each entry
   * but ".." with its node when its attributes are known (READDIRPLUS).
   */
  async readdir(
    dirId: number,
    caller: Caller,
    cookie: number,
    limit: number,
    withNodes = false,
  ): Promise<{ dir: NodeRecord; entries: DirEntry[]; eof: boolean }> {
    const dir = await this.directory(dirId);
    if (!mayRead(caller, dir)) throw new FsError('ACCES', 'no read permission on the directory');
    await this.listed(dir);
    const entries: DirEntry[] = [];
    if (cookie === 0) entries.push({ cookie: 1, id: dir.id, name: '.', ...(withNodes ? { node: dir } : {}) });
    if (cookie <= 1) entries.push({ cookie: 2, id: dir.parent, name: '..' });
    const room = Math.max(1, limit - entries.length);
    const children = await this.table.entriesAfter(dir.id, cookie <= 2 ? 0 : cookie - 2, room + 1);
    for (const child of children.slice(0, room)) {
      const node = withNodes ? (this.table.cached(child.id) ?? (await this.table.get(child.id))) : undefined;
      entries.push({ cookie: child.id + 2, id: child.id, name: child.name, ...(node?.headed ? { node } : {}) });
    }
    return { dir, entries, eof: children.length <= room };
  }

  // ---- changing files

  async write(
    id: number,
    caller: Caller,
    offset: number,
    data: Buffer,
    stability: Stability,
  ): Promise<{ node: NodeRecord; before: NodeRecord; committed: Stability }> {
    this.writable();
    const before = await this.getattr(id);
    if (before.type === 'dir') throw new FsError('ISDIR', 'cannot write to a directory');
    if (before.type !== 'file') throw new FsError('INVAL', 'not a regular file');
    // The owner may write whatever the mode says: open() checked when the file was opened (cp of a read-only file).
    if (!mayWrite(caller, before) && caller.uid !== before.uid) throw new FsError('ACCES', 'no write permission');
    if (offset + data.length > MAX_FILE_SIZE) throw new FsError('FBIG', `files end at ${MAX_FILE_SIZE} bytes`);
    // A file never uploaded is new to the bucket: the engine need not ask the bucket about its key.
    await this.objects.write(before.key, offset, data, { fresh: before.remote === undefined });
    if (stability !== 'unstable') await this.objects.sync([before.key]);
    // An UNSTABLE write to a file already marked changed records its new size and times at the COMMIT: a catalog
    // write less per WRITE. The mark itself is written at once, or a restart would not know to upload the file.
    const node = await this.update(
      id,
      (n) => {
        const t = now();
        return { ...n, size: Math.max(n.size, offset + data.length), mtime: t, ctime: t, dirty: true };
      },
      { later: (n) => stability === 'unstable' && n.dirty === true },
    );
    return { node, before, committed: stability === 'unstable' ? 'unstable' : 'file' };
  }

  /** Makes the file's data and attributes durable here (COMMIT). */
  async commit(id: number): Promise<NodeRecord> {
    const node = await this.getattr(id);
    await Promise.all([
      node.type === 'file' ? this.objects.sync([node.key]) : undefined,
      this.locks.run(`n${id}`, () => this.table.writeNow(id)),
    ]);
    return node;
  }

  async setattr(id: number, caller: Caller, attrs: SetAttributes, guardCtime?: Time): Promise<{ node: NodeRecord; before: NodeRecord }> {
    this.writable();
    const before = await this.getattr(id);
    if (guardCtime && !sameTime(guardCtime, before.ctime)) throw new FsError('NOT_SYNC', 'the ctime guard does not match');
    const owner = caller.uid === 0 || caller.uid === before.uid;
    if (attrs.mode !== undefined && !owner) throw new FsError('PERM', 'only the owner may change the mode');
    if (attrs.uid !== undefined && attrs.uid !== before.uid && caller.uid !== 0)
      throw new FsError('PERM', 'only root may change the owner');
    if (
      attrs.gid !== undefined &&
      attrs.gid !== before.gid &&
      !(caller.uid === 0 || (owner && (caller.gid === attrs.gid || caller.gids.includes(attrs.gid))))
    ) {
      throw new FsError('PERM', 'the owner may change the group only to one of its own');
    }
    const timesToClient =
      (attrs.atime !== undefined && attrs.atime !== 'server') || (attrs.mtime !== undefined && attrs.mtime !== 'server');
    if (timesToClient && !owner) throw new FsError('PERM', 'only the owner may set times');
    if ((attrs.atime === 'server' || attrs.mtime === 'server') && !owner && !mayWrite(caller, before))
      throw new FsError('ACCES', 'no write permission');
    if (attrs.size !== undefined) {
      if (before.type === 'dir') throw new FsError('ISDIR', 'a directory has no size to set');
      if (before.type !== 'file') throw new FsError('INVAL', 'only a regular file has a size to set');
      if (!mayWrite(caller, before) && caller.uid !== before.uid) throw new FsError('ACCES', 'no write permission');
      if (attrs.size > MAX_FILE_SIZE) throw new FsError('FBIG', `files end at ${MAX_FILE_SIZE} bytes`);
      if (attrs.size !== before.size) await this.objects.truncate(before.key, attrs.size);
    }
    const node = await this.update(id, (n) => {
      const t = now();
      const changed = {
        ...n,
        ...(attrs.mode !== undefined ? { mode: attrs.mode & 0o7777 } : {}),
        ...(attrs.uid !== undefined ? { uid: attrs.uid } : {}),
        ...(attrs.gid !== undefined ? { gid: attrs.gid } : {}),
        ...(attrs.size !== undefined ? { size: attrs.size } : {}),
        ...(attrs.atime !== undefined ? { atime: attrs.atime === 'server' ? t : attrs.atime } : {}),
        ...(attrs.mtime !== undefined
          ? { mtime: attrs.mtime === 'server' ? t : attrs.mtime }
          : attrs.size !== undefined && attrs.size !== n.size
            ? { mtime: t }
            : {}),
        ctime: t,
        dirty: true,
      };
      delete (changed as { createVerifier?: string }).createVerifier;
      return changed;
    });
    return { node, before };
  }

  // ---- changing the namespace

  async create(
    dirId: number,
    caller: Caller,
    name: string,
    how: CreateHow,
  ): Promise<{ node: NodeRecord; dir: NodeRecord; dirBefore: NodeRecord }> {
    return this.createIn(dirId, caller, name, async (dir) => {
      const existing = await this.child(dir, name);
      if (existing) {
        if (how.mode === 'guarded') throw new FsError('EXIST', `${JSON.stringify(name)} exists`);
        if (how.mode === 'exclusive') {
          if (existing.createVerifier === how.verifier.toString('hex')) return existing;
          throw new FsError('EXIST', `${JSON.stringify(name)} exists`);
        }
        if (existing.type !== 'file') throw new FsError('EXIST', `${JSON.stringify(name)} exists and is not a regular file`);
        if (how.attributes.size !== undefined) return (await this.setattr(existing.id, caller, { size: how.attributes.size })).node;
        return existing;
      }
      const attributes = how.mode === 'exclusive' ? {} : how.attributes;
      const node = await this.newNode(dir, caller, name, 'file', attributes, 0o644);
      const created = how.mode === 'exclusive' ? { ...node, createVerifier: how.verifier.toString('hex') } : node;
      // The object comes to be with the first write or, empty, with the upload of its metadata.
      if (attributes.size) await this.objects.truncate(created.key, attributes.size);
      await this.link(dir, { ...created, size: attributes.size ?? 0 });
      return (await this.table.get(created.id))!;
    });
  }

  async mkdir(
    dirId: number,
    caller: Caller,
    name: string,
    attributes: SetAttributes,
  ): Promise<{ node: NodeRecord; dir: NodeRecord; dirBefore: NodeRecord }> {
    return this.createIn(dirId, caller, name, async (dir) => {
      if (await this.child(dir, name)) throw new FsError('EXIST', `${JSON.stringify(name)} exists`);
      // The "dir/" object comes to be with the upload of its metadata.
      const node = await this.newNode(dir, caller, name, 'dir', attributes, 0o755);
      await this.link(dir, { ...node, listedAt: Date.now() });
      this.table.madeDirectory(node.id);
      return (await this.table.get(node.id))!;
    });
  }

  async symlink(
    dirId: number,
    caller: Caller,
    name: string,
    target: string,
    attributes: SetAttributes,
  ): Promise<{ node: NodeRecord; dir: NodeRecord; dirBefore: NodeRecord }> {
    if (Buffer.byteLength(target) > SYMLINK_MAX) throw new FsError('NAMETOOLONG', `a link target is at most ${SYMLINK_MAX} bytes`);
    if (target.length === 0) throw new FsError('INVAL', 'an empty link target');
    return this.createIn(dirId, caller, name, async (dir) => {
      if (await this.child(dir, name)) throw new FsError('EXIST', `${JSON.stringify(name)} exists`);
      const node = await this.newNode(dir, caller, name, 'symlink', { ...attributes, mode: 0o777 }, 0o777);
      const data = Buffer.from(target, 'utf8');
      await this.objects.write(node.key, 0, data, { fresh: true });
      await this.link(dir, { ...node, size: data.length, target });
      return (await this.table.get(node.id))!;
    });
  }

  async remove(dirId: number, caller: Caller, name: string, kind: 'file' | 'dir'): Promise<{ dir: NodeRecord; dirBefore: NodeRecord }> {
    checkName(name);
    if (name === '.' || name === '..') throw new FsError(kind === 'dir' ? 'INVAL' : 'ISDIR', `cannot remove ${JSON.stringify(name)}`);
    const { dir, dirBefore } = await this.inDirectory(dirId, caller, name, async (dir) => {
      const node = await this.child(dir, name);
      if (!node) throw new FsError('NOENT', `no ${JSON.stringify(name)} in the directory`);
      this.checkSticky(caller, dir, node);
      if (kind === 'file' && node.type === 'dir') throw new FsError('ISDIR', `${JSON.stringify(name)} is a directory`);
      if (kind === 'dir') {
        if (node.type !== 'dir') throw new FsError('NOTDIR', `${JSON.stringify(name)} is not a directory`);
        await this.listed(node);
        if (await this.table.hasChildren(node.id)) throw new FsError('NOTEMPTY', `${JSON.stringify(name)} is not empty`);
      }
      await this.underNodeLocks([dir.id, node.id], async (latest) => {
        await this.table.commit(
          this.table
            .changes()
            .unlink(dir.id, name, node.id)
            .remove(node.id)
            .put(this.touchedDir(latest(dir.id))),
        );
      });
      this.bump(dir.id);
      this.touchedDirectory(dir.id);
      this.uploader.forget(node.id);
      this.readAhead.forget(node.id);
      if (node.key !== '') await this.objects.delete(node.key);
    });
    return { dir, dirBefore };
  }

  async rename(
    fromDirId: number,
    fromName: string,
    toDirId: number,
    toName: string,
    caller: Caller,
  ): Promise<{ fromDir: NodeRecord; fromBefore: NodeRecord; toDir: NodeRecord; toBefore: NodeRecord }> {
    this.writable();
    checkName(fromName);
    if (fromName === '.' || fromName === '..') throw new FsError('INVAL', `cannot rename ${JSON.stringify(fromName)}`);
    checkNewName(toName);
    return this.inDirectories(fromDirId, toDirId, async () => {
      const fromBefore = await this.directory(fromDirId);
      const toBefore = await this.directory(toDirId);
      for (const dir of [fromBefore, toBefore]) {
        if (!mayWrite(caller, dir) || !maySearch(caller, dir)) throw new FsError('ACCES', 'no write permission on the directory');
      }
      await this.listed(fromBefore);
      await this.listed(toBefore);
      const node = await this.child(fromBefore, fromName);
      if (!node) throw new FsError('NOENT', `no ${JSON.stringify(fromName)} in the directory`);
      this.checkSticky(caller, fromBefore, node);
      const target = await this.child(toBefore, toName);
      if (target?.id === node.id) return { fromDir: fromBefore, fromBefore, toDir: toBefore, toBefore };
      if (node.type === 'dir' && (await this.isWithin(toBefore.id, node.id)))
        throw new FsError('INVAL', 'cannot move a directory into itself');
      const newKey = (await this.pathKey(toBefore)) + toName + (node.type === 'dir' ? '/' : '');
      checkKey(this.settings.keyPrefix, newKey);
      if (target) {
        this.checkSticky(caller, toBefore, target);
        if (node.type === 'dir' && target.type !== 'dir') throw new FsError('NOTDIR', `${JSON.stringify(toName)} is not a directory`);
        if (node.type !== 'dir' && target.type === 'dir') throw new FsError('ISDIR', `${JSON.stringify(toName)} is a directory`);
        if (target.type === 'dir') {
          await this.listed(target);
          if (await this.table.hasChildren(target.id)) throw new FsError('NOTEMPTY', `${JSON.stringify(toName)} is not empty`);
        }
      }
      await this.underNodeLocks([node.id, fromBefore.id, toBefore.id, ...(target ? [target.id] : [])], async (latest) => {
        const changes = this.table.changes();
        if (target) changes.unlink(toBefore.id, toName, target.id).remove(target.id);
        changes.unlink(fromBefore.id, fromName, node.id).link(toBefore.id, toName, node.id, node.type);
        changes.put({ ...latest(node.id), parent: toBefore.id, name: toName, ctime: now(), dirty: true });
        changes.put(this.touchedDir(latest(fromBefore.id)));
        if (toBefore.id !== fromBefore.id) changes.put(this.touchedDir(latest(toBefore.id)));
        await this.table.commit(changes);
      });
      for (const id of [node.id, fromBefore.id, toBefore.id]) this.bump(id);
      if (target) {
        this.uploader.forget(target.id);
        if (target.key !== newKey) await this.objects.delete(target.key);
      }
      if (node.type === 'dir') this.startMove(node.id);
      else await this.moveObject(node.id);
      this.touchedDirectory(fromBefore.id);
      this.touchedDirectory(toBefore.id);
      return {
        fromDir: (await this.table.get(fromBefore.id))!,
        fromBefore,
        toDir: (await this.table.get(toBefore.id))!,
        toBefore,
      };
    });
  }

  // ---- the bucket's side

  /** Lists directories from the bucket again now: one, or a whole tree. */
  async refresh(path: string, recursive: boolean): Promise<{ directories: number }> {
    let node = await this.getattr(ROOT_ID);
    for (const part of path.split('/').filter((p) => p !== '')) {
      node = await this.lookup(node.id, part, { uid: 0, gid: 0, gids: [] });
    }
    if (node.type !== 'dir') throw new FsError('NOTDIR', `${path} is not a directory`);
    let directories = 0;
    const visit = async (dir: NodeRecord): Promise<void> => {
      await this.listed(dir, true);
      directories++;
      if (!recursive) return;
      for (let after = 0; ;) {
        const children = await this.table.children(dir.id, after, 1000);
        if (children.length === 0) break;
        after = children[children.length - 1]!.id;
        for (const ref of children) {
          if (ref.type !== 'dir') continue;
          const child = await this.table.get(ref.id);
          if (child) await visit(child);
        }
      }
    };
    await visit(node);
    return { directories };
  }

  /** Resolves once every change made before the call (data, attributes, renames) is in the bucket, to true; to false once `signal` aborts first. */
  async waitUploaded(signal?: AbortSignal): Promise<boolean> {
    const aborted = new Promise<void>((resolve) => signal?.addEventListener('abort', () => resolve(), { once: true }));
    await Promise.race([Promise.all(this.moves.values()), aborted]);
    if (!signal?.aborted) await this.uploader.flush(signal);
    return !signal?.aborted;
  }

  /** Removes the share's namespace from the catalog (share deletion; the bucket keeps its objects). */
  async forgetNamespace(): Promise<void> {
    await this.table.clear();
  }

  async close(): Promise<void> {
    await this.uploader.close();
    await Promise.allSettled(this.moves.values());
    await this.table.writeAll();
  }

  // ---- inside

  private writable(): void {
    if (this.settings.readOnly) throw new FsError('ROFS', `the share ${this.settings.name} is read-only`);
  }

  private async directory(id: number): Promise<NodeRecord> {
    const node = await this.getattr(id);
    if (node.type !== 'dir') throw new FsError('NOTDIR', 'not a directory');
    return node;
  }

  private async child(dir: NodeRecord, name: string): Promise<NodeRecord | undefined> {
    const id = await this.table.childId(dir.id, name);
    if (id === undefined) return undefined;
    const node = await this.table.get(id);
    return node && !node.headed ? this.head(node) : node;
  }

  /** Runs a change of one directory's entries under its lock, after the checks every such change makes. */
  private async inDirectory<T>(
    dirId: number,
    caller: Caller,
    name: string,
    task: (dir: NodeRecord) => Promise<T>,
  ): Promise<{ result: T; dir: NodeRecord; dirBefore: NodeRecord }> {
    this.writable();
    checkName(name);
    return this.locks.run(`d${dirId}`, async () => {
      const dirBefore = await this.directory(dirId);
      if (!mayWrite(caller, dirBefore) || !maySearch(caller, dirBefore)) throw new FsError('ACCES', 'no write permission on the directory');
      await this.listed(dirBefore);
      const result = await task(dirBefore);
      return { result, dir: (await this.table.get(dirId))!, dirBefore };
    });
  }

  private async createIn(
    dirId: number,
    caller: Caller,
    name: string,
    task: (dir: NodeRecord) => Promise<NodeRecord>,
  ): Promise<{ node: NodeRecord; dir: NodeRecord; dirBefore: NodeRecord }> {
    const { result, dir, dirBefore } = await this.inDirectory(dirId, caller, name, task);
    return { node: result, dir, dirBefore };
  }

  /** Runs a task holding two directories' locks, taken in id order so that two renames cannot wait on each other. */
  private async inDirectories<T>(a: number, b: number, task: () => Promise<T>): Promise<T> {
    const [first, second] = a <= b ? [a, b] : [b, a];
    return this.locks.run(`d${first}`, () => (first === second ? task() : this.locks.run(`d${second}`, task)));
  }

  private checkSticky(caller: Caller, dir: NodeRecord, node: NodeRecord): void {
    if ((dir.mode & 0o1000) !== 0 && caller.uid !== 0 && caller.uid !== dir.uid && caller.uid !== node.uid) {
      throw new FsError('ACCES', 'the directory is sticky and the file is not yours');
    }
  }

  private async newNode(
    dir: NodeRecord,
    caller: Caller,
    name: string,
    type: NodeType,
    attributes: SetAttributes,
    mode: number,
  ): Promise<NodeRecord> {
    checkNewName(name);
    const key = (await this.pathKey(dir)) + name + (type === 'dir' ? '/' : '');
    checkKey(this.settings.keyPrefix, key);
    const t = now();
    const clientTime = (value: 'server' | Time | undefined) => (value === undefined || value === 'server' ? t : value);
    return {
      id: this.table.newId(),
      parent: dir.id,
      name,
      type,
      mode: (attributes.mode ?? mode) & 0o7777,
      uid: attributes.uid ?? caller.uid,
      gid: attributes.gid ?? ((dir.mode & 0o2000) !== 0 ? dir.gid : caller.gid),
      size: 0,
      atime: clientTime(attributes.atime),
      mtime: clientTime(attributes.mtime),
      ctime: t,
      key,
      headed: true,
      dirty: true,
    };
  }

  private async link(dir: NodeRecord, node: NodeRecord): Promise<void> {
    await this.underNodeLocks([dir.id], async (latest) => {
      await this.table.commit(
        this.table
          .changes()
          .put(node)
          .link(dir.id, node.name, node.id, node.type)
          .put(this.touchedDir(latest(dir.id))),
      );
    });
    this.bump(dir.id);
    this.uploader.touched(node.id, uploadBytes(node));
    this.touchedDirectory(dir.id);
  }

  /** A directory's entries changed: its marker object is uploaded again with its new times. The root has no object, so nothing waits for it. */
  private touchedDirectory(id: number): void {
    if (id !== ROOT_ID) this.uploader.touched(id);
  }

  private touchedDir(dir: NodeRecord): NodeRecord {
    const t = now();
    return { ...dir, mtime: t, ctime: t, dirty: dir.id !== ROOT_ID ? true : dir.dirty };
  }

  /** Changes a node's record under its lock; `later`: whether the change may wait in memory (NodeTable.changeLater). */
  private async update(
    id: number,
    change: (node: NodeRecord) => NodeRecord,
    options: { readonly later?: (node: NodeRecord) => boolean } = {},
  ): Promise<NodeRecord> {
    return this.locks.run(`n${id}`, async () => {
      const node = await this.table.get(id);
      if (!node) throw new FsError('STALE', `file id ${id} no longer exists`);
      const changed = change(node);
      if (options.later?.(node)) this.table.changeLater(changed);
      else await this.table.commit(this.table.changes().put(changed));
      this.bump(id);
      if (changed.dirty) this.uploader.touched(id, uploadBytes(changed));
      return changed;
    });
  }

  /**
   * Runs a task holding the locks of these nodes (taken in id order), with their
   * records as they are now: what changes a node's record rewrites it whole, so
   * it must start from the latest, or it would undo a change made meanwhile (a
   * SETATTR, a WRITE's size). STALE when one of them no longer exists.
   */
  private async underNodeLocks<T>(ids: readonly number[], task: (latest: (id: number) => NodeRecord) => Promise<T>): Promise<T> {
    const sorted = [...new Set(ids)].sort((a, b) => a - b);
    const locked = async (i: number): Promise<T> => {
      const id = sorted[i];
      if (id !== undefined) return this.locks.run(`n${id}`, () => locked(i + 1));
      const records = new Map<number, NodeRecord>();
      for (const each of sorted) {
        const node = await this.table.get(each);
        if (!node) throw new FsError('STALE', `file id ${each} no longer exists`);
        records.set(each, node);
      }
      return task((id) => must(records.get(id), `node ${id} under lock`));
    };
    return locked(0);
  }

  private bump(id: number): void {
    this.generations.set(id, (this.generations.get(id) ?? 0) + 1);
  }

  /** The key a node's object belongs at now: its path ("" for the root, "a/b/" for a directory). */
  private async pathKey(node: NodeRecord): Promise<string> {
    const names: string[] = [];
    for (let current = node; current.id !== ROOT_ID;) {
      names.push(current.name);
      const parent = await this.table.get(current.parent);
      if (!parent) throw new FsError('STALE', 'a parent directory no longer exists');
      current = parent;
    }
    if (names.length === 0) return '';
    return `${names.reverse().join('/')}${node.type === 'dir' ? '/' : ''}`;
  }

  private async isWithin(id: number, ancestor: number): Promise<boolean> {
    for (let current = id; ;) {
      if (current === ancestor) return true;
      if (current === ROOT_ID) return false;
      const node = await this.table.get(current);
      if (!node) return false;
      current = node.parent;
    }
  }

  /** Reads a node's attributes from its object's metadata: for nodes seen only in a listing. */
  private async head(node: NodeRecord): Promise<NodeRecord> {
    const head = await this.objects.head(node.key);
    const t = now();
    if (!head) {
      if (node.type !== 'dir') throw new FsError('STALE', `the object ${node.key} is gone from the bucket`);
      // A directory that is only a common prefix (no "dir/" object): the share's defaults.
      return this.headedNow(node.id, (latest) => ({ ...latest, headed: true }));
    }
    const attrs = fromMetadata(head.metadata, node.type, head.modified ? timeFromDate(head.modified) : t, this.settings.defaults);
    let target: string | undefined;
    if (attrs.type === 'symlink') {
      const { data, release } = await this.objects.read(node.key, 0, Math.min(head.size, SYMLINK_MAX));
      target = data.toString('utf8');
      release();
    }
    return this.headedNow(node.id, (latest) => ({
      ...latest,
      ...attrs,
      size: latest.type === 'dir' ? 0 : head.size,
      headed: true,
      ...(target !== undefined ? { target } : {}),
      remote: { size: head.size, ...(head.modified ? { modified: head.modified.getTime() } : {}) },
    }));
  }

  /** Records what a HEAD found, under the node's lock, unless another call has headed the node meanwhile (then its record stands). */
  private headedNow(id: number, headed: (latest: NodeRecord) => NodeRecord): Promise<NodeRecord> {
    return this.underNodeLocks([id], async (latest) => {
      const node = latest(id);
      if (node.headed) return node;
      const changed = headed(node);
      await this.table.commit(this.table.changes().put(changed));
      return changed;
    });
  }

  /** Makes sure the directory's entries include the bucket's, listing it when never listed or stale. */
  private async listed(dir: NodeRecord, force = false): Promise<void> {
    const timeout = this.settings.cacheStaleTimeoutMs;
    const fresh = dir.listedAt !== undefined && (timeout <= 0 || Date.now() - dir.listedAt < timeout);
    if (fresh && !force) return;
    let running = this.listing.get(dir.id);
    if (!running) {
      running = this.listFromBucket(dir.id).finally(() => this.listing.delete(dir.id));
      this.listing.set(dir.id, running);
    }
    await running;
  }

  private async listFromBucket(dirId: number): Promise<void> {
    const dir = await this.table.get(dirId);
    if (!dir) return;
    const prefix = dir.key;
    const seen = new Map<string, { type: NodeType; size: number; modified?: Date }>();
    for await (const entry of this.objects.list(prefix, { delimiter: '/' })) {
      if (entry.kind === 'prefix') {
        const name = entry.prefix.slice(prefix.length, -1);
        if (isShowableName(name)) seen.set(name, { type: 'dir', size: 0 });
      } else {
        const name = entry.key.slice(prefix.length);
        // A directory wins over a file of the same name (S3 may hold both "a" and "a/…").
        if (isShowableName(name) && !seen.has(name))
          seen.set(name, { type: 'file', size: entry.size, ...(entry.modified ? { modified: entry.modified } : {}) });
      }
    }

    const local = new Map<string, ChildRef>();
    for (let after = 0; ;) {
      const children = await this.table.children(dirId, after, 1000);
      if (children.length === 0) break;
      for (const child of children) local.set(child.name, child);
      after = children[children.length - 1]!.id;
    }
    let changes = this.table.changes();
    let pending = 0;
    const flush = async () => {
      await this.table.commit(changes);
      changes = this.table.changes();
      pending = 0;
    };
    const d = this.settings.defaults;
    for (const [name, found] of seen) {
      const ref = local.get(name);
      const remote = { size: found.size, ...(found.modified ? { modified: found.modified.getTime() } : {}) };
      if (!ref) {
        const mtime = found.modified ? timeFromDate(found.modified) : now();
        const node: NodeRecord = {
          id: this.table.newId(),
          parent: dirId,
          name,
          type: found.type,
          mode: found.type === 'dir' ? d.dirMode : d.fileMode,
          uid: d.uid,
          gid: d.gid,
          size: found.size,
          atime: mtime,
          mtime,
          ctime: mtime,
          key: prefix + name + (found.type === 'dir' ? '/' : ''),
          headed: false,
          remote,
        };
        changes.put(node).link(dirId, name, node.id, node.type);
      } else if (ref.type !== 'dir' && found.type === 'file') {
        const changedFrom = (node: NodeRecord | undefined) =>
          node?.remote &&
          (node.remote.size !== remote.size ||
            (remote.modified !== undefined && node.remote.modified !== undefined && remote.modified !== node.remote.modified));
        if (changedFrom(await this.table.get(ref.id))) {
          // Changed in the bucket by someone else: forget our copy; the attributes are read again on next use. Under
          // the node's lock, so that a client's change made meanwhile is neither overwritten nor forgotten.
          await this.underNodeLocks([ref.id], async (latest) => {
            const node = latest(ref.id);
            if (node.dirty || !changedFrom(node)) return;
            this.readAhead.forget(node.id);
            await this.objects.forget(node.key);
            await this.table.commit(this.table.changes().put({ ...node, size: remote.size, remote, headed: false }));
          }).catch(ignoreStale);
        }
      }
      if (++pending >= 1000) await flush();
    }
    await flush();
    const gone = (node: NodeRecord | undefined): node is NodeRecord => node !== undefined && !node.dirty && node.remote !== undefined;
    for (const [name, ref] of local) {
      // Gone from the bucket: dropped here too, unless it holds changes of ours not yet uploaded.
      if (seen.has(name) || !gone(await this.table.get(ref.id))) continue;
      await this.underNodeLocks([dirId, ref.id], async (latest) => {
        const node = latest(ref.id);
        if (!gone(node) || node.parent !== dirId || node.name !== name) return;
        if (node.type === 'dir' && (await this.table.hasChildren(node.id))) return;
        await this.table.commit(this.table.changes().unlink(dirId, name, node.id).remove(node.id));
        if (node.type === 'file') await this.objects.forget(node.key);
      }).catch(ignoreStale);
    }
    await this.underNodeLocks([dirId], async (latest) => {
      await this.table.commit(this.table.changes().put({ ...latest(dirId), listedAt: Date.now() }));
    }).catch(ignoreStale);
  }

  /** Uploads a node's object as it is now (SettleTarget). */
  private async upload(id: number, hurry: AbortSignal): Promise<boolean> {
    const generation = this.generations.get(id) ?? 0;
    const node = await this.table.get(id);
    if (!node || !node.dirty) return true;
    if (node.key !== (await this.pathKey(node))) return false; // a move is under way; it uploads when it lands
    if (node.id === ROOT_ID) {
      await this.update(id, (n) => ({ ...n, dirty: false }));
      return true;
    }
    await this.objects.setMetadata(node.key, toMetadata(node));
    await this.objects.drain([node.key], { yieldUntil: hurry }); // which syncs first
    return this.locks.run(`n${id}`, async () => {
      const latest = await this.table.get(id);
      if (!latest) return true;
      if ((this.generations.get(id) ?? 0) !== generation) return false;
      await this.table.commit(this.table.changes().put({ ...latest, dirty: false, remote: { size: latest.size } }));
      return true;
    });
  }

  /** Moves a file's or symbolic link's object to its path: copy, then delete (S3 has no rename). */
  private async moveObject(id: number): Promise<void> {
    const node = await this.table.get(id);
    if (!node) return;
    const key = await this.pathKey(node);
    if (node.key === key) return;
    await this.moveKey(id, node.key, key);
  }

  /**
   * Moves a node's object from `from` to `to`: copy, the node's new key, delete. A
   * node never uploaded may have no object yet (an empty file, a directory's
   * marker): its upload makes one at the new key.
   */
  private async moveKey(id: number, from: string, to: string): Promise<void> {
    const exists = (await this.objects.head(from)) !== undefined;
    if (exists) await this.objects.copy(from, to);
    await this.update(id, (n) => ({ ...n, key: to, dirty: true }));
    if (exists) await this.objects.delete(from);
  }

  /** Renames a directory in the bucket: every key under it, one at a time, resumable after a restart. */
  private startMove(dirId: number): void {
    if (this.moves.has(dirId)) return;
    const run = this.moveTree(dirId)
      .catch((err: unknown) =>
        this.logger.error({ err, share: this.settings.name, dirId }, 'directory rename in the bucket failed; it resumes at the next start'),
      )
      .finally(() => this.moves.delete(dirId));
    this.moves.set(dirId, run);
  }

  private async moveTree(dirId: number): Promise<void> {
    const dir = await this.table.get(dirId);
    if (!dir) return;
    const to = await this.pathKey(dir);
    if (dir.key === to) return;
    this.logger.info(
      { share: this.settings.name, from: dir.key, to },
      'renaming a directory in the bucket: every key under it is copied, then deleted',
    );
    let moved = 0;
    const visit = async (id: number): Promise<void> => {
      const node = await this.table.get(id);
      if (!node) return;
      // The old prefix still holds what the bucket has under it: list it before its keys move.
      await this.listed(node);
      for (let after = 0; ;) {
        const children = await this.table.children(id, after, 1000);
        if (children.length === 0) break;
        after = children[children.length - 1]!.id;
        for (const ref of children) {
          const child = await this.table.get(ref.id);
          if (!child) continue;
          if (child.type === 'dir') await visit(child.id);
          else await this.moveObject(child.id);
          moved++;
        }
      }
      const latest = await this.table.get(id);
      if (!latest) return;
      const key = await this.pathKey(latest);
      if (latest.key !== key) await this.moveKey(id, latest.key, key);
    };
    await visit(dirId);
    this.logger.info({ share: this.settings.name, to, objects: moved }, 'directory renamed in the bucket');
  }
}

/** A node gone meanwhile needs nothing more. */
function ignoreStale(error: unknown): void {
  if (!(error instanceof FsError && error.code === 'STALE')) throw error;
}

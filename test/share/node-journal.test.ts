// The node table's journal (src/share/fs/node-journal.ts): its record format
// byte for byte, a torn tail ignored, a damaged record with records after it
// refused by name; and the table's replay of a journal a crash left (records
// the catalog does not hold yet, in order, those it holds skipped), ending
// with the journal emptied.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Catalog } from '../../src/catalog/catalog.ts';
import { decodeRecords, encodeRecord, JournalDamagedError, NodeJournal, type JournalRecord } from '../../src/share/fs/node-journal.ts';
import { NodeTable, ROOT_ID, type NodeRecord } from '../../src/share/fs/node-table.ts';

const t = { sec: 1, nsec: 0 };
const node = (id: number, parent: number, name: string, size = 0): NodeRecord => ({
  id,
  parent,
  name,
  type: id === ROOT_ID ? 'dir' : 'file',
  mode: 0o644,
  uid: 0,
  gid: 0,
  atime: t,
  mtime: t,
  ctime: t,
  size,
  key: name,
  headed: true,
});

describe('share node journal', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'node-journal-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes a record as its body length and CRC32C (little-endian) before the JSON [seq, ops]', () => {
    const bytes = encodeRecord({ seq: 7, ops: [{ type: 'del', key: 'k' }] });
    const body = '[7,[{"type":"del","key":"k"}]]';
    assert.equal(bytes.readUInt32LE(0), body.length);
    // CRC32C of the body, as any CRC32C (iSCSI's, ext4's) computes it.
    assert.equal(bytes.readUInt32LE(4), 0xea674048);
    assert.equal(bytes.subarray(8).toString('utf8'), body);
    assert.equal(bytes.length, 8 + body.length);
    assert.deepEqual(decodeRecords(bytes, 'j').records, [{ seq: 7, ops: [{ type: 'del', key: 'k' }] }]);
  });

  it('ignores a torn tail: a last record cut short, or a bad one followed only by zeros', () => {
    const one = encodeRecord({ seq: 1, ops: [{ type: 'put', key: 'a', value: 1 }] });
    const two = encodeRecord({ seq: 2, ops: [{ type: 'put', key: 'b', value: 2 }] });
    for (const cut of [1, 7, 8, two.length - 1]) {
      const torn = decodeRecords(Buffer.concat([one, two.subarray(0, cut)]), 'j');
      assert.deepEqual([torn.records.map((r) => r.seq), torn.end], [[1], one.length], `cut at ${cut}`);
    }
    const badLast = Buffer.from(two);
    badLast.writeUInt8(badLast.readUInt8(badLast.length - 2) ^ 0xff, badLast.length - 2);
    assert.deepEqual(
      decodeRecords(Buffer.concat([one, badLast]), 'j').records.map((r) => r.seq),
      [1],
    );
    assert.deepEqual(decodeRecords(Buffer.concat([one, Buffer.alloc(4096)]), 'j').end, one.length, 'zeros past the end');
  });

  it('refuses a bad record with records after it, saying where', () => {
    const records = [1, 2, 3].map((seq) => encodeRecord({ seq, ops: [{ type: 'put', key: `k${seq}`, value: seq }] }));
    const damaged = Buffer.concat(records);
    const at = records[0]!.length + 10;
    damaged.writeUInt8(damaged.readUInt8(at) ^ 0x01, at);
    assert.throws(
      () => decodeRecords(damaged, '/data/shares/share-1.journal'),
      (error: Error) =>
        error instanceof JournalDamagedError &&
        error.message.includes(`/data/shares/share-1.journal has a bad record at byte ${records[0]!.length} of ${damaged.length}`) &&
        error.message.includes(`${records[2]!.length} bytes after it`),
    );
  });

  it('cuts a torn tail off at open, so the next append follows the last whole record', async () => {
    const file = path.join(dir, 'j');
    const one = encodeRecord({ seq: 1, ops: [] });
    await writeFile(file, Buffer.concat([one, encodeRecord({ seq: 2, ops: [] }).subarray(0, 5)]));
    const { journal, records } = NodeJournal.open(file);
    assert.deepEqual(records, [{ seq: 1, ops: [] }]);
    journal.append({ seq: 2, ops: [{ type: 'del', key: 'x' }] });
    journal.close();
    assert.deepEqual(
      decodeRecords(await readFile(file), file).records.map((r) => r.seq),
      [1, 2],
    );
  });

  describe('replay by the node table', () => {
    let catalog: Catalog | undefined;
    afterEach(async () => {
      await catalog?.close();
      catalog = undefined;
    });

    const openTable = async (journal: string) => {
      catalog ??= await Catalog.open(path.join(dir, 'catalog'));
      const table = new NodeTable(catalog.section('shares'), 1, journal);
      await table.open(() => node(ROOT_ID, ROOT_ID, ''));
      return table;
    };
    const records = (table: NodeTable, ...changes: ((c: ReturnType<NodeTable['changes']>) => void)[]): JournalRecord[] =>
      changes.map((change, i) => {
        const c = table.changes();
        change(c);
        return { seq: i + 2, ops: [...c.ops, { type: 'put', key: '0000000000001!next', value: 4 }] };
      });

    it('applies the records a crash left in the journal, in order, and empties it', async () => {
      const journal = path.join(dir, 'share-1.journal');
      const table = await openTable(journal);
      await table.close();
      const bytes = records(
        table,
        (c) => c.put(node(2, ROOT_ID, 'a')).link(ROOT_ID, 'a', 2, 'file'),
        (c) => c.put(node(3, ROOT_ID, 'b')).link(ROOT_ID, 'b', 3, 'file'),
        (c) => c.put(node(2, ROOT_ID, 'a', 4096)),
        (c) => c.unlink(ROOT_ID, 'b', 3).remove(3),
      ).map(encodeRecord);
      // As a crash leaves it: the root's record (seq 1, in the catalog already) and four after it.
      await writeFile(journal, Buffer.concat([encodeRecord({ seq: 1, ops: [] }), ...bytes]));
      await catalog!.close();
      catalog = undefined;

      const again = await openTable(journal);
      assert.equal((await again.get(2))?.size, 4096, 'the later record of the node wins');
      assert.equal(await again.childId(ROOT_ID, 'a'), 2);
      assert.equal(await again.childId(ROOT_ID, 'b'), undefined, 'removed again');
      assert.equal(await again.get(3), undefined);
      assert.deepEqual(
        (await again.children(ROOT_ID, 0, 10)).map((c) => c.name),
        ['a'],
      );
      assert.equal(again.newId(), 4);
      assert.equal((await stat(journal)).size, 0, 'emptied once the catalog holds it');
      await again.close();
    });

    it('skips records the catalog holds already, and leaves out those after a gap', async () => {
      const journal = path.join(dir, 'share-1.journal');
      const table = await openTable(journal);
      table.commit(
        table
          .changes()
          .put(node(2, ROOT_ID, 'a', 100))
          .link(ROOT_ID, 'a', 2, 'file'),
      );
      await table.close(); // the catalog holds seq 2: a size of 100
      const [older, , afterGap] = records(
        table,
        (c) => c.put(node(2, ROOT_ID, 'a', 1)),
        () => undefined,
        (c) => c.put(node(3, ROOT_ID, 'c')).link(ROOT_ID, 'c', 3, 'file'),
      );
      await writeFile(journal, Buffer.concat([encodeRecord(older!), encodeRecord(afterGap!)]));
      await catalog!.close();
      catalog = undefined;

      const again = await openTable(journal);
      assert.equal((await again.get(2))?.size, 100, 'an older record does not roll the catalog back');
      assert.equal(await again.childId(ROOT_ID, 'c'), undefined, 'seq 4 needs seq 3, which is lost');
      await again.close();
    });
  });
});

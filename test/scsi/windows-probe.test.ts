// The probe Windows and Veeam send before a tape library shows up in Veeam
// (fixtures/windows-probe.ts), run step by step against a real changer and real
// drives over the library on a real LevelDB catalog: every answer is checked
// the way the driver that sends the command reads it.
import assert from 'node:assert/strict';
import {
  PROBE_CARTRIDGE,
  probeSteps,
  sources,
  type Computed,
  type ElementKind,
  type Expectation,
  type ProbeStep,
} from '../../fixtures/windows-probe.ts';
import type { ScsiLogicalUnit } from '../../scsi/logical-unit.ts';
import { createChangerUnit } from '../../scsi/smc/changer.ts';
import { ElementType, type ElementLayout } from '../../scsi/smc/media-library.ts';
import { createTapeDriveUnit } from '../../scsi/ssc/drive.ts';
import { Status, type ScsiResponse } from '../../scsi/types.ts';
import type { LibraryOptions } from '../../src/tape/library.ts';
import { driveIdentities, libraryFixture, type LibraryFixture } from '../tape/library-helpers.ts';
import { parseReport, type Descriptor } from './element-status-report.ts';
import { decodeSense } from '../helpers/sense.ts';
import { command } from './helpers.ts';

const GATEWAY = 'sgw-12345678';
const KINDS: readonly ElementKind[] = ['transport', 'storage', 'importExport', 'dataTransfer'];

/** Device type strings of Windows SCSI hardware IDs (Microsoft, "Identifiers for SCSI devices"). */
const WINDOWS_TYPE_NAMES: Record<number, string> = { 0x01: 'Sequential', 0x08: 'Changer' };

/** SCSI\t*v(8)p(16)r(4) with blanks, commas and non-printing characters as underscores. */
function hardwareId(inquiry: Buffer): string {
  const field = (from: number, to: number) =>
    [...inquiry.subarray(from, to)].map((c) => (c <= 0x20 || c >= 0x7f || c === 0x2c ? '_' : String.fromCharCode(c))).join('');
  return `SCSI\\${WINDOWS_TYPE_NAMES[inquiry[0]! & 0x1f] ?? 'Other'}${field(8, 16)}${field(16, 32)}${field(32, 36)}`;
}

/** The element address page as mcd.sys maps 0-based element numbers with it. */
function layoutFromModeSense(data: Buffer): ElementLayout | undefined {
  const page = 4 + data[3]!;
  if (data.length < page + 20 || (data[page]! & 0x3f) !== 0x1d) return undefined;
  const range = (at: number) => ({ first: data.readUInt16BE(page + at), count: data.readUInt16BE(page + at + 2) });
  return { transport: range(2), storage: range(6), importExport: range(10), dataTransfer: range(14) };
}

function totalElements(layout: ElementLayout): number {
  return KINDS.reduce((n, k) => n + layout[k].count, 0);
}

function fillCdb(step: ProbeStep, layout: ElementLayout | undefined): Buffer {
  const cdb = Buffer.from(step.cdb);
  for (const c of step.computed ?? []) {
    assert.ok(layout, `${step.id}: the driver computes this CDB from mode page 1Dh, which no earlier step read`);
    cdb.writeUIntBE(computedValue(c, layout), c.at, 'reportLength' in c ? 3 : 2);
  }
  return cdb;
}

function computedValue(c: Computed, layout: ElementLayout): number {
  if ('address' in c) return layout[c.address.element].first + c.address.index;
  if ('lowestAddress' in c) return Math.min(...KINDS.filter((k) => layout[k].count > 0).map((k) => layout[k].first));
  if ('elementCount' in c) return c.elementCount === 'all' ? totalElements(layout) : layout[c.elementCount].count;
  const { descriptor, of } = c.reportLength;
  const pages = of === 'all' ? KINDS.filter((k) => layout[k].count > 0).length : 1;
  const elements = of === 'all' ? totalElements(layout) : typeof of === 'number' ? of : layout[of].count;
  return 8 + 8 * pages + descriptor * elements;
}

function descriptorOf(data: Buffer, layout: ElementLayout, element: ElementKind, index: number): Descriptor | undefined {
  const address = layout[element].first + index;
  return parseReport(data)
    .pages.flatMap((p) => p.descriptors)
    .find((d) => d.address === address);
}

function designators(vpd83: Buffer): { association: number; type: number }[] {
  const out: { association: number; type: number }[] = [];
  for (let o = 4; o + 4 <= vpd83.length; o += 4 + vpd83[o + 3]!)
    out.push({ association: (vpd83[o + 1]! >> 4) & 0x03, type: vpd83[o + 1]! & 0x0f });
  return out;
}

const isUnitAttention = (r: ScsiResponse) =>
  r.status === Status.CheckCondition && r.sense !== undefined && decodeSense(r.sense).key === 0x06;

describe('Windows and Veeam probe (fixtures/windows-probe.ts)', function () {
  it('cites a source for every step', function () {
    for (const step of probeSteps) {
      assert.ok(step.sources.length > 0, step.id);
      for (const key of step.sources) assert.ok(sources[key], `${step.id}: unknown source ${key}`);
    }
    assert.equal(new Set(probeSteps.map((s) => s.id)).size, probeSteps.length, 'step ids are unique');
  });

  probeLibrary('a small library: 2 drives, 4 slots, 2 import/export slots', {});
  probeLibrary("AWS's shape: 10 drives, 1600 slots, 1600 import/export slots", {
    drives: driveIdentities(10),
    storageSlots: 1600,
    importExportSlots: 1600,
  });
});

/** Runs every step, in order, against a changer and drives over one library. */
function probeLibrary(title: string, options: Partial<LibraryOptions>): void {
  describe(title, function () {
    let f: LibraryFixture;
    let changer: ScsiLogicalUnit;
    let drives: ScsiLogicalUnit[];
    let layout: ElementLayout | undefined;
    /** Data each step answered, per unit it ran on (drives in element order), kept even when a check fails. */
    const answers = new Map<string, Buffer[]>();

    before(async function () {
      f = await libraryFixture(options);
      await f.tape(PROBE_CARTRIDGE, { kind: 'slot', index: 1 });
      changer = createChangerUnit({ identity: { serial: 'CHGR000001', gatewayId: GATEWAY, name: 'mediachanger' }, library: f.library });
      const identities = f.library
        .elements()
        .filter((e) => e.type === ElementType.DataTransfer)
        .map((e) => e.drive!);
      drives = f.library.bays.map((bay, i) =>
        createTapeDriveUnit({
          identity: { ...identities[i]!, gatewayId: GATEWAY, name: `tapedrive-${String(i + 1).padStart(2, '0')}` },
          bay,
        }),
      );
    });

    after(async function () {
      await f?.close();
    });

    for (const step of probeSteps) {
      it(`${step.id}: ${step.sender} ${step.what}`, async function () {
        const units = step.device === 'changer' ? [changer] : step.everyDrive ? drives : [drives[0]!];
        const firstDrive = f.library.elements().find((e) => e.type === ElementType.DataTransfer)!;
        assert.equal(
          firstDrive.full,
          step.medium === 'loaded',
          `${step.id}: the first drive should ${step.medium === 'loaded' ? 'hold' : 'not hold'} a cartridge`,
        );
        const cdb = fillCdb(step, layout);
        const allocation = step.allocation === 'computed' ? cdb.readUIntBE(7, 3) : step.allocation;
        const data: Buffer[] = [];
        answers.set(step.id, data);
        for (const [i, unit] of units.entries()) {
          const cmd = { ...command([...cdb], { dataOut: dataOut(step) }), dataInLength: allocation };
          let r = await unit.execute(cmd);
          while (step.retryUnitAttention && isUnitAttention(r)) r = await unit.execute(cmd);
          const where = `${step.id}${units.length > 1 ? ` (drive ${i + 1})` : ''} [${step.sender}: ${step.what}]`;
          const answer = r.data ?? Buffer.alloc(0);
          data.push(answer);
          layout = layoutFromModeSense(answer) ?? layout;
          check(where, step, r, answer, allocation);
        }
      });
    }

    function dataOut(step: ProbeStep): Buffer {
      if (!step.dataOutFrom) return Buffer.from(step.dataOut ?? []);
      const read = answers.get(step.dataOutFrom.step)?.[0];
      assert.ok(read, `${step.id}: the driver builds its parameter data from step ${step.dataOutFrom.step}, which has not answered`);
      const data = Buffer.from(read);
      for (const { at, mask = 0xff, value } of step.dataOutFrom.set) data[at] = (data[at]! & ~mask) | (value & mask);
      return data;
    }

    function check(where: string, step: ProbeStep, r: ScsiResponse, data: Buffer, allocation: number): void {
      const expected = step.expect.find((e) => 'sense' in e);
      if (expected && 'sense' in expected) {
        assert.equal(r.status, Status.CheckCondition, `${where}: ${expected.why}: status ${r.status}`);
        const s = decodeSense(r.sense!);
        assert.deepEqual([s.key, s.asc, s.ascq], [...expected.sense], `${where}: ${expected.why}`);
        return;
      }
      assert.equal(
        r.status,
        Status.Good,
        `${where}: GOOD expected, got ${r.status}${r.sense ? ` sense ${JSON.stringify(decodeSense(r.sense))}` : ''}`,
      );
      assert.ok(data.length <= allocation, `${where}: ${data.length} bytes do not fit the driver's ${allocation}-byte buffer`);
      for (const e of step.expect) expectation(`${where}: ${e.why}`, e, data);
    }

    function expectation(message: string, e: Expectation, data: Buffer): void {
      if ('length' in e) assert.equal(data.length, e.length, message);
      else if ('minLength' in e) assert.ok(data.length >= e.minLength, `${message} (${data.length} bytes)`);
      else if ('byte' in e)
        assert.equal(data[e.byte]! & (e.mask ?? 0xff), e.equals, `${message} (byte ${e.byte} = 0x${data[e.byte]?.toString(16)})`);
      else if ('u16' in e) assert.equal(data.readUInt16BE(e.u16), e.equals, message);
      else if ('u24' in e) {
        const value = data.readUIntBE(e.u24, 3);
        if (e.equals !== undefined) assert.equal(value, e.equals, message);
        if (e.min !== undefined) assert.ok(value >= e.min, `${message} (${value})`);
      } else if ('u32' in e) assert.equal(data.readUInt32BE(e.u32), e.equals, message);
      else if ('ascii' in e) assert.equal(data.subarray(e.ascii, e.ascii + e.equals.length).toString('latin1'), e.equals, message);
      else if ('printable' in e) {
        const bytes = data.subarray(e.printable, e.to ?? data.length);
        assert.equal(bytes.length, (e.to ?? data.length) - e.printable, `${message} (data too short)`);
        assert.ok(
          bytes.every((c) => c >= 0x20 && c <= 0x7e),
          `${message}: ${JSON.stringify(bytes.toString('latin1'))}`,
        );
      } else if ('vpdPages' in e) {
        const listed = [...data.subarray(4, 4 + data.readUInt16BE(2))];
        for (const page of e.vpdPages)
          assert.ok(
            listed.includes(page),
            `${message}: page ${page.toString(16)}h missing from ${listed.map((p) => p.toString(16)).join(',')}`,
          );
      } else if ('designator' in e) {
        assert.ok(
          designators(data).some((d) => d.association === e.designator.association && d.type === e.designator.type),
          message,
        );
      } else if ('modePage' in e) {
        const at = 4 + data[3]!;
        assert.deepEqual([data[at]! & 0x3f, data[at + 1]], [e.modePage.code, e.modePage.length], message);
      } else if ('hardwareId' in e) assert.equal(hardwareId(data), e.hardwareId, message);
      else if ('timestampAtLeast' in e) assert.ok(data.readUIntBE(4, 6) >= Buffer.from(e.timestampAtLeast).readUIntBE(0, 6), message);
      else if ('elementPages' in e) elementPages(message, e.elementPages, data);
      else if ('element' in e) element(message, e.element, data);
      else if ('dvcidMatchesDrives' in e) dvcid(message, e.dvcidMatchesDrives, data);
    }

    function elementPages(message: string, e: Extract<Expectation, { elementPages: unknown }>['elementPages'], data: Buffer): void {
      const report = parseReport(data);
      const wanted = e.elements === 'all' ? totalElements(layout!) : layout![e.elements].count;
      const descriptors = report.pages.flatMap((p) => p.descriptors);
      assert.equal(report.available, wanted, `${message}: elements available`);
      assert.equal(descriptors.length, wanted, `${message}: descriptors transferred`);
      for (const page of report.pages) {
        assert.equal(page.descriptorLength, e.descriptorLength, `${message}: element type ${page.type} descriptor length`);
        assert.equal(page.pvoltag, e.pvoltag, `${message}: element type ${page.type} PVOLTAG`);
        assert.equal(page.byteCount, page.descriptors.length * page.descriptorLength, `${message}: element type ${page.type} byte count`);
      }
    }

    function element(message: string, e: Extract<Expectation, { element: unknown }>['element'], data: Buffer): void {
      const d = descriptorOf(data, layout!, e.element, e.index);
      assert.ok(d, `${message}: no descriptor for ${e.element} ${e.index}`);
      assert.equal((d.flags & 0x01) !== 0, e.full, `${message}: FULL`);
      if (e.volumeTag !== undefined) assert.equal(d.voltag, e.volumeTag.padEnd(32, ' '), `${message}: volume tag`);
      if (e.source) {
        assert.ok(d.svalid, `${message}: SVALID`);
        assert.equal(d.source, layout![e.source.element].first + e.source.index, `${message}: source element`);
      }
    }

    function dvcid(message: string, from: { inquiry: string; serial: string }, data: Buffer): void {
      const inquiries = answers.get(from.inquiry);
      const serials = answers.get(from.serial);
      assert.ok(inquiries && serials, `${message}: steps ${from.inquiry} and ${from.serial} have not run`);
      const page = parseReport(data).pages.find((p) => p.type === ElementType.DataTransfer);
      assert.ok(page, `${message}: no data transfer element page`);
      assert.equal(page.descriptors.length, drives.length, `${message}: one descriptor per drive`);
      page.descriptors.forEach((d, i) => {
        assert.ok(d.identifier, `${message}: drive ${i + 1} has no identifier`);
        assert.deepEqual([d.identifier.codeSet, d.identifier.type], [2, 1], `${message}: drive ${i + 1}: ASCII T10 vendor identification`);
        const expected = inquiries[i]!.subarray(8, 32).toString('latin1') + serials[i]!.subarray(4).toString('latin1');
        assert.equal(d.identifier.text.trimEnd(), expected, `${message}: drive ${i + 1}`);
      });
    }
  });
}

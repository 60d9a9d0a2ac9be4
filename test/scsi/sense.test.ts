import { strict as assert } from 'node:assert';
import { Asc, buildSense, invalidFieldInCdb, invalidFieldInParameterList, ScsiError, SenseKey } from '../../scsi/sense.ts';
import { decodeSense } from '../helpers/sense.ts';

describe('scsi/sense', () => {
  it('builds fixed sense with a CDB field pointer', () => {
    const sense = buildSense(invalidFieldInCdb(4, 2).sense, 'fixed');
    assert.deepEqual([...sense], [0x70, 0, 0x05, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x24, 0x00, 0, 0xca, 0x00, 0x04]);
  });

  it('marks a parameter list field pointer with C/D=0 and no bit pointer when none is given', () => {
    const sense = buildSense(invalidFieldInParameterList(0x123).sense);
    assert.deepEqual([...sense.subarray(15, 18)], [0x80, 0x01, 0x23]);
  });

  it('sets VALID, INFORMATION and the FILEMARK/EOM/ILI bits for tape', () => {
    const sense = buildSense({ key: SenseKey.NoSense, asc: Asc.FILEMARK_DETECTED, information: 512, filemark: true, ili: true, eom: true });
    assert.equal(sense[0], 0xf0);
    assert.equal(sense[2], 0xe0);
    assert.deepEqual([...sense.subarray(3, 7)], [0, 0, 2, 0]);
    assert.deepEqual([...sense.subarray(12, 14)], [0x00, 0x01]);
  });

  it("encodes a negative residue (overlength tape block) in two's complement", () => {
    const sense = buildSense({ key: SenseKey.NoSense, asc: Asc.NO_ADDITIONAL_SENSE, information: -2, ili: true });
    assert.equal(sense[0], 0xf0);
    assert.deepEqual([...sense.subarray(3, 7)], [0xff, 0xff, 0xff, 0xfe]);
    const descriptor = buildSense({ key: SenseKey.NoSense, asc: Asc.NO_ADDITIONAL_SENSE, information: -2, ili: true }, 'descriptor');
    assert.deepEqual([...descriptor.subarray(12, 20)], [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe]);
  });

  it('leaves VALID clear when INFORMATION does not fit the fixed format', () => {
    const sense = buildSense({ key: SenseKey.MediumError, asc: Asc.UNRECOVERED_READ_ERROR, information: 0x1_0000_0000n });
    assert.equal(sense[0], 0x70);
    assert.deepEqual([...sense.subarray(3, 7)], [0, 0, 0, 0]);
  });

  it('reports progress in the sense-key specific field', () => {
    const sense = buildSense({ key: SenseKey.NotReady, asc: Asc.LU_NOT_READY_FORMAT_IN_PROGRESS, progress: 0x8000 });
    assert.deepEqual([...sense.subarray(15, 18)], [0x80, 0x80, 0x00]);
  });

  it('builds descriptor sense: information, command-specific, field pointer and stream descriptors', () => {
    const sense = buildSense(
      {
        key: SenseKey.IllegalRequest,
        asc: Asc.INVALID_FIELD_IN_CDB,
        information: 7n,
        commandSpecific: 9,
        fieldPointer: { in: 'cdb', byte: 1, bit: 4 },
        filemark: true,
      },
      'descriptor',
    );
    assert.deepEqual([...sense.subarray(0, 8)], [0x72, 0x05, 0x24, 0x00, 0, 0, 0, 12 + 12 + 8 + 4]);
    assert.deepEqual([...sense.subarray(8, 20)], [0x00, 0x0a, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 7]);
    assert.deepEqual([...sense.subarray(20, 32)], [0x01, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9]);
    assert.deepEqual([...sense.subarray(32, 40)], [0x02, 0x06, 0, 0, 0xcc, 0x00, 0x01, 0]);
    assert.deepEqual([...sense.subarray(40, 44)], [0x04, 0x02, 0, 0x80]);
  });

  it("reads back through the tests' sense reader as it was built, in both formats", () => {
    const info = {
      key: SenseKey.NoSense,
      asc: Asc.FILEMARK_DETECTED,
      information: -2,
      filemark: true,
      eom: true,
      ili: true,
      fieldPointer: { in: 'parameter-list', byte: 0x123, bit: 5 },
    } as const;
    for (const format of ['fixed', 'descriptor'] as const) {
      assert.deepEqual(decodeSense(buildSense(info, format)), {
        format,
        deferred: false,
        key: SenseKey.NoSense,
        asc: 0x00,
        ascq: 0x01,
        filemark: true,
        eom: true,
        ili: true,
        information: -2,
        sks: [0x8d, 0x01, 0x23],
        fieldPointer: { cdb: false, byte: 0x123, bit: 5 },
      });
    }
  });

  it('ScsiError carries its sense', () => {
    const err = invalidFieldInCdb(2);
    assert.ok(err instanceof ScsiError && err instanceof Error);
    assert.equal(err.sense.asc, Asc.INVALID_FIELD_IN_CDB);
  });
});

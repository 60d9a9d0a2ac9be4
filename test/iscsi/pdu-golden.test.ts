// The PDU codec byte for byte against golden PDUs (fixtures/pdus/): ones built
// from RFC 7143's layouts, and ones libiscsi, QEMU and the gateway exchanged at
// login (scripts/capture-pdus.ts). Each header is read by the RFC's layout
// (test/helpers/rfc7143-layouts.ts), which must account for every bit of it;
// an initiator's PDU must decode to those fields, a target's must encode from
// them to the same bytes; negotiation's key=value data decodes and encodes back
// unchanged.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  decodeDataOut,
  decodeLoginRequest,
  decodeLogoutRequest,
  decodeNopOut,
  decodeScsiCommand,
  decodeTaskManagement,
  decodeTextRequest,
  encodeAsyncMessage,
  encodeDataIn,
  encodeLoginResponse,
  encodeLogoutResponse,
  encodeNopIn,
  encodeR2T,
  encodeReject,
  encodeScsiResponse,
  encodeTaskManagementResponse,
  encodeTextResponse,
  Opcode,
  type RawPdu,
  type Sequence,
} from '../../src/iscsi/pdu.ts';
import { decodeTextData, encodeTextData } from '../../src/iscsi/text.ts';
import { readFields, writeFields, type FieldValues } from '../helpers/rfc7143-layouts.ts';

interface GoldenPdu {
  readonly name?: string;
  readonly from: 'initiator' | 'target';
  /** Values written by hand from the RFC's layout: numbers, booleans, "0x…" numbers, hex Buffers. */
  readonly fields?: Record<string, number | boolean | string>;
  readonly bhs: string;
  readonly data: string;
}

interface Fixture {
  readonly source: string;
  readonly pdus?: readonly GoldenPdu[];
  /** Captures: each connection's PDUs in the order they passed. */
  readonly connections?: readonly (readonly GoldenPdu[])[];
}

const folder = fileURLToPath(new URL('../../fixtures/pdus/', import.meta.url));
const fixtures = readdirSync(folder)
  .filter((f) => f.endsWith('.json'))
  .map((file) => ({ file, fixture: JSON.parse(readFileSync(folder + file, 'utf8')) as Fixture }));

const n = (v: number | boolean | Buffer): number => Number(v);
const flag = (v: number | boolean | Buffer): boolean => v === true;
const buffer = (v: number | boolean | Buffer): Buffer => v as Buffer;
const sequence = (f: FieldValues): Sequence => ({ statSN: n(f['statSN']!), expCmdSN: n(f['expCmdSN']!), maxCmdSN: n(f['maxCmdSN']!) });
/** The residual a SCSI Response or Data-In reports as underflow and as overflow (U and O bits). */
const residuals = (f: FieldValues): { underflow: number; overflow: number } => ({
  underflow: flag(f['underflowBit']!) ? n(f['residualCount']!) : 0,
  overflow: flag(f['overflowBit']!) ? n(f['residualCount']!) : 0,
});

const decoders: Partial<Record<Opcode, (pdu: RawPdu) => object>> = {
  [Opcode.ScsiCommand]: decodeScsiCommand,
  [Opcode.DataOut]: decodeDataOut,
  [Opcode.NopOut]: decodeNopOut,
  [Opcode.TaskManagementRequest]: decodeTaskManagement,
  [Opcode.LoginRequest]: decodeLoginRequest,
  [Opcode.TextRequest]: decodeTextRequest,
  [Opcode.LogoutRequest]: decodeLogoutRequest,
};

/** The codec's encoder of each target PDU, given the fields the RFC's layout read. */
const encoders: Partial<Record<Opcode, (f: FieldValues, data: Buffer) => Buffer>> = {
  [Opcode.LoginResponse]: (f, data) =>
    encodeLoginResponse(
      {
        transit: flag(f['transit']!),
        continue: flag(f['continue']!),
        currentStage: n(f['currentStage']!),
        nextStage: n(f['nextStage']!),
        isid: buffer(f['isid']!),
        tsih: n(f['tsih']!),
        itt: n(f['itt']!),
        statusClass: n(f['statusClass']!),
        statusDetail: n(f['statusDetail']!),
        dataLength: data.length,
      },
      sequence(f),
    ),
  [Opcode.TextResponse]: (f, data) =>
    encodeTextResponse(
      {
        final: flag(f['final']!),
        continue: flag(f['continue']!),
        lun: buffer(f['lun']!),
        itt: n(f['itt']!),
        ttt: n(f['ttt']!),
        dataLength: data.length,
      },
      sequence(f),
    ),
  [Opcode.ScsiResponse]: (f, data) =>
    encodeScsiResponse(
      {
        itt: n(f['itt']!),
        status: n(f['status']!),
        response: n(f['response']!),
        ...residuals(f),
        expDataSN: n(f['expDataSN']!),
        dataLength: data.length,
      },
      sequence(f),
    ),
  [Opcode.DataIn]: (f, data) =>
    encodeDataIn(
      {
        final: flag(f['final']!),
        itt: n(f['itt']!),
        dataSN: n(f['dataSN']!),
        bufferOffset: n(f['bufferOffset']!),
        dataLength: data.length,
        status: flag(f['statusBit']!) ? { status: n(f['status']!), ...residuals(f) } : undefined,
      },
      sequence(f),
    ),
  [Opcode.R2T]: (f) =>
    encodeR2T(
      {
        lun: buffer(f['lun']!),
        itt: n(f['itt']!),
        ttt: n(f['ttt']!),
        r2tSN: n(f['r2tSN']!),
        bufferOffset: n(f['bufferOffset']!),
        desiredLength: n(f['desiredLength']!),
      },
      sequence(f),
    ),
  [Opcode.NopIn]: (f, data) =>
    encodeNopIn({ lun: buffer(f['lun']!), itt: n(f['itt']!), ttt: n(f['ttt']!), dataLength: data.length }, sequence(f)),
  [Opcode.TaskManagementResponse]: (f) => encodeTaskManagementResponse(n(f['itt']!), n(f['response']!), sequence(f)),
  [Opcode.LogoutResponse]: (f) =>
    encodeLogoutResponse(n(f['itt']!), n(f['response']!), sequence(f), n(f['time2Wait']!), n(f['time2Retain']!)),
  [Opcode.Reject]: (f) => encodeReject(n(f['reason']!), sequence(f)),
  [Opcode.AsyncMessage]: (f) =>
    encodeAsyncMessage(n(f['asyncEvent']!), sequence(f), [n(f['parameter1']!), n(f['parameter2']!), n(f['parameter3']!)]),
};

/** What a decoder returns beyond the header's fields. */
const NOT_IN_THE_HEADER = new Set(['data', 'bidirectionalReadLength']);

function handWritten(fields: Record<string, number | boolean | string>): FieldValues {
  const out: FieldValues = {};
  for (const [k, v] of Object.entries(fields))
    out[k] = typeof v !== 'string' ? v : v.startsWith('0x') ? Number.parseInt(v, 16) : Buffer.from(v, 'hex');
  return out;
}

function check(pdu: GoldenPdu): void {
  const bhs = Buffer.from(pdu.bhs.replace(/ /g, ''), 'hex');
  const data = Buffer.from(pdu.data, 'hex');
  const opcode = (bhs[0]! & 0x3f) as Opcode;
  assert.equal(bhs.length, 48, 'a whole Basic Header Segment');
  const fields = readFields(bhs);
  assert.deepEqual(writeFields(opcode, fields), bhs, 'every set bit is a field of the RFC layout');
  assert.equal(fields['dataSegmentLength'], opcode === Opcode.Reject ? 48 : data.length, 'DataSegmentLength');
  if (pdu.fields) assert.deepEqual(fields, { ...fields, ...handWritten(pdu.fields) }, 'the fields written by hand');

  if (pdu.from === 'initiator') {
    const decode = decoders[opcode];
    assert.ok(decode, `a decoder for opcode 0x${opcode.toString(16)}`);
    const decoded = decode({ bhs, ahs: Buffer.alloc(0), data }) as Record<string, unknown>;
    for (const [key, value] of Object.entries(decoded)) {
      if (key === 'data') assert.deepEqual(value, data);
      else if (!NOT_IN_THE_HEADER.has(key)) assert.deepEqual(value, fields[key], `decoded ${key}`);
    }
  } else {
    const encode = encoders[opcode];
    assert.ok(encode, `an encoder for opcode 0x${opcode.toString(16)}`);
    assert.equal(encode(fields, data).toString('hex'), bhs.toString('hex'), 'encoded from its fields');
  }

  // Key=value data as negotiation reads it (SendTargets answers repeat their keys, so they are left out).
  const negotiated = opcode === Opcode.LoginRequest || opcode === Opcode.LoginResponse || opcode === Opcode.TextRequest;
  if (negotiated && data.length > 0 && !fields['continue']) {
    assert.deepEqual(encodeTextData(decodeTextData(data)), data, 'text data decoded and encoded back');
  }
}

describe('iSCSI PDU codec against golden PDUs', () => {
  it('has fixtures from the RFC, libiscsi and QEMU', () => {
    assert.deepEqual(fixtures.map((f) => f.file).sort(), [
      'libiscsi-discovery.json',
      'libiscsi-inquiry.json',
      'qemu-login.json',
      'rfc7143.json',
    ]);
  });

  for (const { file, fixture } of fixtures) {
    describe(`${file}: ${fixture.source}`, () => {
      const pdus = fixture.pdus ?? fixture.connections!.flat();
      pdus.forEach((pdu, i) => {
        const bhs = Buffer.from(pdu.bhs.replace(/ /g, ''), 'hex');
        it(`${i}: ${pdu.name ?? `${pdu.from} opcode 0x${(bhs[0]! & 0x3f).toString(16)}`}`, () => check(pdu));
      });
    });
  }
});

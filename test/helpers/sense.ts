// Sense data as an initiator reads it (SPC-4 4.5), for every test that looks
// inside a CHECK CONDITION: fixed format (70h, 71h) or descriptor format
// (72h, 73h), with the stream bits, INFORMATION and the sense-key specific bytes.

export interface Sense {
  readonly format: 'fixed' | 'descriptor';
  /** 71h or 73h: a deferred error, not the current command's. */
  readonly deferred: boolean;
  readonly key: number;
  readonly asc: number;
  readonly ascq: number;
  /** FILEMARK, EOM and ILI: fixed byte 2, or the stream commands descriptor. */
  readonly filemark: boolean;
  readonly eom: boolean;
  readonly ili: boolean;
  /** INFORMATION when VALID (or from an information descriptor), as a signed 32-bit number: a tape residue may be negative. */
  readonly information?: number;
  /** The three sense-key specific bytes, when SKSV is set. */
  readonly sks?: number[];
  /** The sense-key specific bytes read as a field pointer: in the CDB or the parameter list, the byte, and the bit when BPV. */
  readonly fieldPointer?: { readonly cdb: boolean; readonly byte: number; readonly bit?: number };
}

const SKSV = 0x80;
const INFORMATION_DESCRIPTOR = 0x00;
const SENSE_KEY_SPECIFIC_DESCRIPTOR = 0x02;
const STREAM_COMMANDS_DESCRIPTOR = 0x04;

function fieldPointer(sks: readonly number[]): Sense['fieldPointer'] {
  const byte = (sks[1]! << 8) | sks[2]!;
  return { cdb: (sks[0]! & 0x40) !== 0, byte, ...(sks[0]! & 0x08 ? { bit: sks[0]! & 0x07 } : {}) };
}

export function decodeSense(sense: Buffer): Sense {
  const code = sense[0]! & 0x7f;
  if (code === 0x70 || code === 0x71) {
    const sks = sense[15]! & SKSV ? [...sense.subarray(15, 18)] : undefined;
    return {
      format: 'fixed',
      deferred: code === 0x71,
      key: sense[2]! & 0x0f,
      asc: sense[12]!,
      ascq: sense[13]!,
      filemark: (sense[2]! & 0x80) !== 0,
      eom: (sense[2]! & 0x40) !== 0,
      ili: (sense[2]! & 0x20) !== 0,
      ...(sense[0]! & 0x80 ? { information: sense.readInt32BE(3) } : {}),
      ...(sks && { sks, fieldPointer: fieldPointer(sks) }),
    };
  }
  if (code !== 0x72 && code !== 0x73) throw new Error(`not sense data: response code ${code.toString(16)}h`);
  let stream = 0;
  let information: number | undefined;
  let sks: number[] | undefined;
  for (let o = 8; o < 8 + sense[7]!; o += 2 + sense[o + 1]!) {
    if (sense[o] === INFORMATION_DESCRIPTOR && sense[o + 2]! & 0x80) information = Number(BigInt.asIntN(32, sense.readBigUInt64BE(o + 4)));
    if (sense[o] === SENSE_KEY_SPECIFIC_DESCRIPTOR && sense[o + 4]! & SKSV) sks = [...sense.subarray(o + 4, o + 7)];
    if (sense[o] === STREAM_COMMANDS_DESCRIPTOR) stream = sense[o + 3]!;
  }
  return {
    format: 'descriptor',
    deferred: code === 0x73,
    key: sense[1]! & 0x0f,
    asc: sense[2]!,
    ascq: sense[3]!,
    filemark: (stream & 0x80) !== 0,
    eom: (stream & 0x40) !== 0,
    ili: (stream & 0x20) !== 0,
    ...(information !== undefined ? { information } : {}),
    ...(sks && { sks, fieldPointer: fieldPointer(sks) }),
  };
}

/** Sense key, ASC and ASCQ, with the sense-key specific bytes when there are any: what most assertions compare. */
export function senseCodes(sense: Buffer): { key: number; asc: number; ascq: number; sks?: number[] } {
  const { key, asc, ascq, sks } = decodeSense(sense);
  return { key, asc, ascq, ...(sks && { sks }) };
}

/** [sense key, ASC, ASCQ]. */
export function senseKeyAsc(sense: Buffer): [number, number, number] {
  const { key, asc, ascq } = decodeSense(sense);
  return [key, asc, ascq];
}

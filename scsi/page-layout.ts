// Page bodies as named fields (the mode pages of SPC-4 7.5, SBC-3 6.4, SSC-4
// 8.3, SMC-3 7.3): where each field sits, and the one place that writes and
// reads them, so that a page is declared by its fields' names and values.

/** A field of a body: `bits` bits whose least significant is bit `lsb` of byte `byte`, or whole bytes from `byte`, big-endian. */
export interface Field {
  readonly byte: number;
  readonly lsb: number;
  readonly bits: number;
}

/** Bit `bit` of byte `byte`. */
export const flag = (byte: number, bit: number): Field => ({ byte, lsb: bit, bits: 1 });
/** Bits `msb` down to `lsb` of byte `byte`. */
export const bitsOf = (byte: number, msb: number, lsb: number): Field => ({ byte, lsb, bits: msb - lsb + 1 });
/** `count` whole bytes from `byte` (at most 6), big-endian. */
export const bytesOf = (byte: number, count = 1): Field => ({ byte, lsb: 0, bits: 8 * count });

export type FieldValues<F extends string> = Partial<Record<F, number | boolean>>;

export class PageLayout<F extends string> {
  constructor(
    /** Bytes of the body. */
    readonly length: number,
    readonly fields: Readonly<Record<F, Field>>,
  ) {
    for (const [name, f] of Object.entries<Field>(fields)) {
      const whole = f.bits > 8;
      const fits = whole
        ? f.lsb === 0 && f.bits % 8 === 0 && f.bits <= 48 && f.byte + f.bits / 8 <= length
        : f.lsb + f.bits <= 8 && f.byte < length;
      if (!fits) throw new Error(`field ${name} does not fit a ${length}-byte body`);
    }
  }

  /** A body holding these values, every other bit zero. */
  encode(values: FieldValues<F>): Buffer {
    const body = Buffer.alloc(this.length);
    for (const name of Object.keys(values) as F[]) this.set(body, name, values[name]!);
    return body;
  }

  /** A body with every bit of these fields set: a MODE SELECT changeable mask. */
  mask(...names: F[]): Buffer {
    const body = Buffer.alloc(this.length);
    for (const name of names) this.set(body, name, 2 ** this.fields[name].bits - 1);
    return body;
  }

  get(body: Buffer, name: F): number {
    const f = this.fields[name];
    if (f.bits > 8) return body.readUIntBE(f.byte, f.bits / 8);
    return (body[f.byte]! >> f.lsb) & ((1 << f.bits) - 1);
  }

  set(body: Buffer, name: F, value: number | boolean): void {
    const f = this.fields[name];
    const v = Number(value);
    if (!Number.isInteger(v) || v < 0 || v >= 2 ** f.bits) throw new RangeError(`${name}: ${v} does not fit in ${f.bits} bits`);
    if (f.bits > 8) {
      body.writeUIntBE(v, f.byte, f.bits / 8);
      return;
    }
    const mask = ((1 << f.bits) - 1) << f.lsb;
    body[f.byte] = (body[f.byte]! & ~mask) | (v << f.lsb);
  }
}

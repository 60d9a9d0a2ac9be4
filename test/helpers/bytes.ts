/** XORs the byte at `at` with `mask`, in place: damage on purpose. A RangeError past the end, never a silent no-op. */
export function flipBits(buffer: Buffer, at: number, mask = 0xff): void {
  buffer.writeUInt8(buffer.readUInt8(at) ^ mask, at);
}

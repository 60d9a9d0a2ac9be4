// The shelf's archives sealed with client-side encryption: a stream read back
// whole is the same bytes whatever pieces it came in, and a key the gateway
// lacks, a changed byte, a dropped or reordered chunk, or a stream cut short
// is refused; a stream stored before encryption passes through.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { parseEncryptionKeys } from '../../src/cloud/encryption-keys.ts';
import { ChecksumMismatchError } from '../../src/cloud/retry.ts';
import { openStream, sealedSize, sealStream, StreamKeyMissingError } from '../../src/cloud/sealed-stream.ts';
import { flipBits } from '../helpers/bytes.ts';

const keys = parseEncryptionKeys(randomBytes(32).toString('base64'), 'test');
const other = parseEncryptionKeys(randomBytes(32).toString('base64'), 'test');

async function* pieces(data: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let at = 0; at < data.length; at += size) yield data.subarray(at, at + size);
}

async function collect(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(part);
  return Buffer.concat(parts);
}

describe('sealed archive streams', () => {
  for (const size of [0, 1, 65_535, 65_536, 65_537, 300_001]) {
    it(`seals and opens ${size} bytes, in pieces of any size`, async () => {
      const data = randomBytes(size);
      const sealed = await collect(sealStream(pieces(data, 1000), keys.current));
      assert.equal(sealed.length, sealedSize(size));
      assert.equal(sealed.subarray(0, 8).toString(), 'TGWSEAL1');
      if (size > 100) assert.ok(!sealed.includes(data.subarray(0, 64)), 'no plaintext in the sealed bytes');
      for (const piece of [1, 7_000, 70_000])
        assert.ok((await collect(openStream(pieces(sealed, piece), keys))).equals(data), `pieces of ${piece}`);
    });
  }

  it('refuses a key it lacks, naming it', async () => {
    const sealed = await collect(sealStream(pieces(randomBytes(1000), 100), keys.current));
    await assert.rejects(
      collect(openStream(pieces(sealed, 100), other)),
      (error: Error) => error instanceof StreamKeyMissingError && error.message.includes(keys.current.id),
    );
    await assert.rejects(collect(openStream(pieces(sealed, 100), undefined)), StreamKeyMissingError);
  });

  it('refuses a changed byte, swapped chunks, a dropped last chunk and a cut stream', async () => {
    const data = randomBytes(200_000);
    const sealed = await collect(sealStream(pieces(data, 4096), keys.current));
    const header = 56;
    const unit = 65_536 + 16;
    const flipped = Buffer.from(sealed);
    flipBits(flipped, header + 100, 1);
    const swapped = Buffer.concat([
      sealed.subarray(0, header),
      sealed.subarray(header + unit, header + 2 * unit),
      sealed.subarray(header, header + unit),
      sealed.subarray(header + 2 * unit),
    ]);
    const dropped = sealed.subarray(0, header + 3 * unit);
    const cut = sealed.subarray(0, sealed.length - 5);
    for (const bad of [flipped, swapped, dropped, cut])
      await assert.rejects(collect(openStream(pieces(bad, 10_000), keys)), ChecksumMismatchError);
  });

  it('passes through a stream stored before encryption was turned on', async () => {
    const plain = Buffer.from('TGWSHLF1 an archive from before');
    assert.ok((await collect(openStream(pieces(plain, 5), keys))).equals(plain));
  });
});

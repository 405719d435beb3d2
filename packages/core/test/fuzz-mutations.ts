import fc from 'fast-check';

/** Mutations of a valid file: flips, truncation, inserted and spliced bytes, all small. */
export function mutations(valid: Uint8Array): fc.Arbitrary<Uint8Array> {
  const flips = fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }).map((changes) => {
    const out = valid.slice();
    for (const [at, byte] of changes) out[at] = byte;
    return out;
  });
  const truncated = fc.nat(valid.length).map((end) => valid.slice(0, end));
  const inserted = fc.tuple(fc.nat(valid.length), fc.uint8Array({ minLength: 1, maxLength: 32 })).map(([at, bytes]) => {
    const out = new Uint8Array(valid.length + bytes.length);
    out.set(valid.subarray(0, at));
    out.set(bytes, at);
    out.set(valid.subarray(at), at + bytes.length);
    return out;
  });
  // Numbers that matter to length fields: 0, 1, 2^31, 2^32 - 1 written little-endian at a random place.
  const lengths = fc.tuple(fc.nat(Math.max(0, valid.length - 4)), fc.constantFrom(0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0x1000)).map(([at, value]) => {
    const out = valid.slice();
    new DataView(out.buffer).setUint32(Math.min(at, Math.max(0, out.length - 4)), value, true);
    return out;
  });
  return fc.oneof(flips, truncated, inserted, lengths);
}

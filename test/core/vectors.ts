/** Byte vectors for xxh64 known-answer tests: every length class of the algorithm. */
const enc = new TextEncoder();

function bytesOfLength(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + 7) & 0xff;
  return b;
}

export const XXH64_VECTORS: ReadonlyArray<{ name: string; bytes: Uint8Array }> = [
  { name: 'empty', bytes: new Uint8Array(0) },
  { name: '1 byte', bytes: enc.encode('a') },
  { name: '3 bytes', bytes: bytesOfLength(3) },
  { name: '4 bytes', bytes: bytesOfLength(4) },
  { name: '8 bytes', bytes: bytesOfLength(8) },
  { name: '31 bytes', bytes: bytesOfLength(31) },
  { name: '32 bytes', bytes: bytesOfLength(32) },
  { name: '33 bytes', bytes: bytesOfLength(33) },
  { name: '63 bytes', bytes: bytesOfLength(63) },
  { name: '4 KiB', bytes: bytesOfLength(4096 + 13) },
  { name: 'non-ASCII UTF-8', bytes: enc.encode('Olá João — código ✓ 你好 🚀') },
];

// Image dimensions from the first bytes of a file (PNG, JPEG, GIF, WebP), read before anything is decoded:
// the studio refuses an image over the pixel limit before the browser allocates its pixels, as the CLI does
// with sharp's header read. Unknown or truncated headers are reported, never decoded "to see".

export type HeaderResult = { format: string; width: number; height: number } | { problem: string };

const u16be = (b: Uint8Array, i: number) => (b[i]! << 8) | b[i + 1]!;
const u16le = (b: Uint8Array, i: number) => b[i]! | (b[i + 1]! << 8);
const u24le = (b: Uint8Array, i: number) => b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16);
const u32be = (b: Uint8Array, i: number) => ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;
const ascii = (b: Uint8Array, i: number, n: number) => String.fromCharCode(...b.subarray(i, i + n));

export function imageHeader(b: Uint8Array): HeaderResult {
  if (b.length >= 24 && b[0] === 0x89 && ascii(b, 1, 3) === 'PNG' && ascii(b, 12, 4) === 'IHDR') {
    return sized('png', u32be(b, 16), u32be(b, 20));
  }
  if (b.length >= 10 && (ascii(b, 0, 6) === 'GIF87a' || ascii(b, 0, 6) === 'GIF89a')) {
    return sized('gif', u16le(b, 6), u16le(b, 8));
  }
  if (b.length >= 30 && ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 4) === 'WEBP') {
    const chunk = ascii(b, 12, 4);
    if (chunk === 'VP8 ') return sized('webp', u16le(b, 26) & 0x3fff, u16le(b, 28) & 0x3fff);
    if (chunk === 'VP8L') {
      const bits = b[21]! | (b[22]! << 8) | (b[23]! << 16) | (b[24]! << 24);
      return sized('webp', (bits & 0x3fff) + 1, ((bits >>> 14) & 0x3fff) + 1);
    }
    if (chunk === 'VP8X') return sized('webp', u24le(b, 24) + 1, u24le(b, 27) + 1);
    return { problem: 'not a readable image: an unknown WebP chunk' };
  }
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0xd8) {
    // walk the markers to the first start-of-frame
    let i = 2;
    while (i + 9 < b.length) {
      if (b[i] !== 0xff) return { problem: 'not a readable image: a damaged JPEG header' };
      const marker = b[i + 1]!;
      if (marker === 0xff) {
        i++;
        continue;
      }
      const len = u16be(b, i + 2);
      const sof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
      if (sof) return sized('jpeg', u16be(b, i + 7), u16be(b, i + 5));
      if (len < 2) return { problem: 'not a readable image: a damaged JPEG header' };
      i += 2 + len;
    }
    return { problem: 'not a readable image: a JPEG without a frame header' };
  }
  return { problem: 'not a readable image (no PNG, JPEG, GIF or WebP header)' };
}

function sized(format: string, width: number, height: number): HeaderResult {
  if (!(width > 0 && height > 0)) return { problem: `bad dimensions ${width}x${height}` };
  return { format, width, height };
}

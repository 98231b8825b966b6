// Decompression bombs for tests (issue 10): tiny files whose headers declare huge images. Generated at test
// time, never committed. Each one costs hundreds of megabytes to a gigabyte to decode without Graft's limits.
import { createDeflate } from 'node:zlib';

/**
 * A 35-byte GIF whose logical screen and only frame declare width x height (16383 x 16383 by default: the
 * largest libvips' default pixel limit lets through). libnsgif holds the whole frame as RGBA, so one decode
 * of the default costs ~1.1 GB.
 */
export function gifBomb(width = 16383, height = 16383): Buffer {
  const u16 = (v: number) => [v & 0xff, v >> 8];
  return Buffer.from([
    ...Buffer.from('GIF89a'),
    ...u16(width),
    ...u16(height),
    0x80, // a global colour table of 2 entries
    0,
    0,
    ...[0, 0, 0, 255, 255, 255],
    0x2c, // image descriptor: at 0,0, the full screen
    0,
    0,
    0,
    0,
    ...u16(width),
    ...u16(height),
    0,
    2, // LZW minimum code size, then one sub-block: clear code, end of information
    2,
    0x4c,
    0x01,
    0,
    0x3b, // trailer
  ]);
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

/** PNG's CRC-32 (zlib.crc32 only exists from Node 20.15). */
function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function pngChunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body) >>> 0);
  return Buffer.concat([len, body, crc]);
}

/**
 * An interlaced 8-bit RGB PNG of width x height black pixels (16000 x 16000 by default: ~750 KB, made in about
 * a second). libvips decodes interlaced PNGs whole, so the default costs ~800 MB. The data is complete and
 * valid: only a pixel limit stops it.
 */
export async function pngBomb(width = 16000, height = 16000): Promise<Buffer> {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  ihdr[12] = 1; // Adam7 interlace
  const deflate = createDeflate({ level: 9 });
  const parts: Buffer[] = [];
  deflate.on('data', (c: Buffer) => parts.push(c));
  const ended = new Promise((res) => deflate.on('end', res));
  // the seven Adam7 passes: each row of a pass is a filter byte and 3 bytes per pixel, all zero
  const passes = [
    [0, 0, 8, 8],
    [4, 0, 8, 8],
    [0, 4, 4, 8],
    [2, 0, 4, 4],
    [0, 2, 2, 4],
    [1, 0, 2, 2],
    [0, 1, 1, 2],
  ];
  const zeros = Buffer.alloc(1 << 20);
  for (const [x0, y0, dx, dy] of passes) {
    const w = Math.ceil((width - x0!) / dx!);
    const h = Math.ceil((height - y0!) / dy!);
    if (w <= 0 || h <= 0) continue;
    for (let left = (3 * w + 1) * h; left > 0; left -= zeros.length) {
      if (!deflate.write(zeros.subarray(0, Math.min(left, zeros.length)))) {
        await new Promise((res) => deflate.once('drain', res));
      }
    }
  }
  deflate.end();
  await ended;
  return Buffer.concat([
    Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', Buffer.concat(parts)),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

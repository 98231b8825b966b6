// The glyph task (issue 13): a second image task, in another domain than clothing, built from material that
// installs offline. 26 classes, the letters a-z, each image one letter drawn by librsvg (through sharp) from
// an SVG: upper or lower case, one of Debian's DejaVu faces (Sans, Serif, Sans Mono; regular, bold, oblique,
// condensed), rotated, scaled and shifted, in a random colour on a random two-colour gradient, crossed by
// distractor strokes, with pixel noise and sometimes blur. 64x64 PNG. Everything is drawn from one seeded
// generator per image (seed, split, class, index), so the same command writes the same files wherever the
// same fonts and libvips are installed; `glyphDigest` fingerprints a written set so runs can be compared.
//
// Needs the DejaVu fonts (Debian `fonts-dejavu-core`, installed with most desktops and with librsvg):
// without them librsvg silently falls back to another face, so `makeGlyphs` checks that they are there.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp, { type OverlayOptions } from 'sharp';
import { mulberry32 } from '../src/util/rng.js';

export const GLYPH_CLASSES = Array.from({ length: 26 }, (_, i) => String.fromCharCode(97 + i));
const SIZE = 64;
const FACES = [
  { family: 'DejaVu Sans', stretch: 'normal', oblique: 'oblique' },
  { family: 'DejaVu Sans', stretch: 'condensed', oblique: 'oblique' },
  { family: 'DejaVu Serif', stretch: 'normal', oblique: 'italic' },
  { family: 'DejaVu Serif', stretch: 'condensed', oblique: 'italic' },
  { family: 'DejaVu Sans Mono', stretch: 'normal', oblique: 'oblique' },
] as const;

export interface GlyphSetOptions {
  /** images per class in train/ and test/ */
  train: number;
  test: number;
  seed?: number;
}

/** Checks that the faces the task is drawn with are installed (fontconfig's fc-list). */
export function checkGlyphFonts(): void {
  let list = '';
  try {
    list = execFileSync('fc-list', [':', 'family'], { encoding: 'utf8' });
  } catch {
    throw new Error('fc-list is not available: install fontconfig and the DejaVu fonts (Debian fonts-dejavu-core)');
  }
  for (const f of ['DejaVu Sans', 'DejaVu Serif', 'DejaVu Sans Mono']) {
    if (!list.split('\n').some((l) => l.split(',').includes(f))) {
      throw new Error(`the font '${f}' is not installed: install Debian's fonts-dejavu-core`);
    }
  }
}

/** One image's drawing, all from `rnd`. */
function glyphSvg(letter: string, rnd: () => number): { svg: string; noise: number; blur: number } {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const colour = () => [0, 0, 0].map(() => Math.floor(rnd() * 256)) as [number, number, number];
  const luma = (c: number[]) => 0.299 * c[0]! + 0.587 * c[1]! + 0.114 * c[2]!;
  const hex = (c: number[]) => `#${c.map((v) => v.toString(16).padStart(2, '0')).join('')}`;
  const bg1 = colour();
  const bg2 = colour();
  // the letter keeps a luminance contrast of at least 60 against the mean background
  let fg = colour();
  const bgLuma = (luma(bg1) + luma(bg2)) / 2;
  for (let k = 0; k < 20 && Math.abs(luma(fg) - bgLuma) < 60; k++) fg = colour();
  if (Math.abs(luma(fg) - bgLuma) < 60) fg = bgLuma > 128 ? [0, 0, 0] : [255, 255, 255];
  const face = pick(FACES);
  const upper = rnd() < 0.5;
  const bold = rnd() < 0.4;
  const slanted = rnd() < 0.3;
  const fontSize = 28 + rnd() * 22;
  const angle = (rnd() - 0.5) * 50;
  const dx = (rnd() - 0.5) * 16;
  const dy = (rnd() - 0.5) * 16;
  const gradAngle = rnd() * 360;
  const strokes: string[] = [];
  const nStrokes = Math.floor(rnd() * 4);
  for (let k = 0; k < nStrokes; k++) {
    const p = () => (rnd() * SIZE).toFixed(1);
    const c = hex(rnd() < 0.5 ? fg : colour());
    const w = (0.8 + rnd() * 2.2).toFixed(1);
    strokes.push(
      rnd() < 0.5
        ? `<line x1="${p()}" y1="${p()}" x2="${p()}" y2="${p()}" stroke="${c}" stroke-width="${w}"/>`
        : `<path d="M${p()},${p()} Q${p()},${p()} ${p()},${p()}" fill="none" stroke="${c}" stroke-width="${w}"/>`,
    );
  }
  const text =
    `<text x="${SIZE / 2}" y="${SIZE / 2}" font-family="${face.family}" font-stretch="${face.stretch}" ` +
    `font-style="${slanted ? face.oblique : 'normal'}" font-weight="${bold ? 'bold' : 'normal'}" ` +
    `font-size="${fontSize.toFixed(1)}" text-anchor="middle" dominant-baseline="central" fill="${hex(fg)}" ` +
    `transform="translate(${dx.toFixed(1)} ${dy.toFixed(1)}) rotate(${angle.toFixed(1)} ${SIZE / 2} ${SIZE / 2})">` +
    `${upper ? letter.toUpperCase() : letter}</text>`;
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${SIZE}" height="${SIZE}">` +
    `<defs><linearGradient id="g" gradientTransform="rotate(${gradAngle.toFixed(1)} 0.5 0.5)">` +
    `<stop offset="0" stop-color="${hex(bg1)}"/><stop offset="1" stop-color="${hex(bg2)}"/></linearGradient></defs>` +
    `<rect width="${SIZE}" height="${SIZE}" fill="url(#g)"/>` +
    // strokes behind and in front of the letter
    strokes.slice(0, Math.ceil(nStrokes / 2)).join('') +
    text +
    strokes.slice(Math.ceil(nStrokes / 2)).join('') +
    `</svg>`;
  return { svg, noise: rnd() * 14, blur: rnd() < 0.25 ? 0.4 + rnd() * 0.8 : 0 };
}

/** A seed for one image, from the set's seed, split, class and index. */
function imageSeed(seed: number, split: string, cls: number, i: number): number {
  const h = createHash('sha256').update(`${seed}|${split}|${cls}|${i}`).digest();
  return h.readUInt32LE(0);
}

async function drawGlyph(letter: string, seedValue: number, file: string): Promise<void> {
  const rnd = mulberry32(seedValue);
  const { svg, noise, blur } = glyphSvg(letter, rnd);
  let img = sharp(Buffer.from(svg)).removeAlpha();
  if (blur > 0) img = img.blur(blur);
  const { data, info } = await img.raw().toBuffer({ resolveWithObject: true });
  // Gaussian pixel noise (Box-Muller), from the same generator
  for (let k = 0; k < data.length; k += 2) {
    const u = Math.max(rnd(), 1e-12);
    const v = rnd();
    const r = Math.sqrt(-2 * Math.log(u)) * noise;
    data[k] = Math.max(0, Math.min(255, Math.round(data[k]! + r * Math.cos(2 * Math.PI * v))));
    if (k + 1 < data.length)
      data[k + 1] = Math.max(0, Math.min(255, Math.round(data[k + 1]! + r * Math.sin(2 * Math.PI * v))));
  }
  await sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } })
    .png()
    .toFile(file);
}

/**
 * Writes `root/train/<letter>/NNNN.png` and `root/test/<letter>/NNNN.png` (once: a finished set is marked
 * complete and reused) and returns the root.
 */
export async function makeGlyphs(
  root: string,
  o: GlyphSetOptions,
  log: (s: string) => void = () => {},
): Promise<string> {
  const done = join(root, '.complete');
  if (existsSync(done)) return root;
  checkGlyphFonts();
  const seed = o.seed ?? 0;
  for (const [split, count] of [
    ['train', o.train],
    ['test', o.test],
  ] as const) {
    log(`drawing ${count} ${split} images per class (${GLYPH_CLASSES.length} classes) under ${root}/${split}`);
    for (const [c, letter] of GLYPH_CLASSES.entries()) {
      const dir = join(root, split, letter);
      mkdirSync(dir, { recursive: true });
      for (let i = 0; i < count; i++)
        await drawGlyph(letter, imageSeed(seed, split, c, i), join(dir, `${String(i).padStart(4, '0')}.png`));
    }
  }
  writeFileSync(done, `${glyphDigest(root)}\n`);
  return root;
}

/** sha256 over every file's path and bytes, in sorted order: the same digest means the same images. */
export function glyphDigest(root: string): string {
  const h = createHash('sha256');
  for (const split of ['train', 'test']) {
    const sdir = join(root, split);
    if (!existsSync(sdir)) continue;
    for (const c of readdirSync(sdir).sort()) {
      for (const f of readdirSync(join(sdir, c)).sort()) {
        h.update(`${split}/${c}/${f}\n`);
        h.update(readFileSync(join(sdir, c, f)));
      }
    }
  }
  return h.digest('hex');
}

/** A contact sheet of the first images of some classes, for docs (rows: classes; columns: images); as JPEG. */
export async function glyphSheet(root: string, file: string, classes = 6, perClass = 12): Promise<void> {
  const tiles: OverlayOptions[] = [];
  GLYPH_CLASSES.slice(0, classes).forEach((letter, r) => {
    for (let i = 0; i < perClass; i++) {
      tiles.push({
        input: join(root, 'train', letter, `${String(i).padStart(4, '0')}.png`),
        left: i * SIZE,
        top: r * SIZE,
      });
    }
  });
  await sharp({
    create: { width: perClass * SIZE, height: classes * SIZE, channels: 3, background: '#ffffff' },
  })
    .composite(tiles)
    .jpeg({ quality: 80 })
    .toFile(file.replace(/\.png$/i, '.jpg'));
}

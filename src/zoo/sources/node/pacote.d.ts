// The slice of pacote's API the npm source uses (pacote ships no type declarations).
declare module 'pacote' {
  /** npm config keys pass through as is ('registry', '@scope:registry', '//host/:_authToken', ...) */
  export type PacoteOptions = Record<string, unknown> & {
    cache?: string;
    registry?: string;
    integrity?: string;
  };

  export interface Manifest {
    name: string;
    version: string;
    _resolved: string;
    _integrity: string;
    dist?: { tarball?: string; integrity?: string; unpackedSize?: number };
  }

  /** A readable stream of the .tgz bytes (a Minipass stream in practice). */
  export type TarballStream = NodeJS.ReadableStream & AsyncIterable<Buffer>;

  export function manifest(spec: string, opts?: PacoteOptions): Promise<Manifest>;

  export const tarball: {
    (spec: string, opts?: PacoteOptions): Promise<Buffer & { integrity: string; resolved: string }>;
    stream<T>(spec: string, handler: (stream: TarballStream) => Promise<T>, opts?: PacoteOptions): Promise<T>;
  };
}

/**
 * What fetching and converting a model reports while it works. The library only emits these; the CLI
 * draws them as a progress bar on stderr, a web page can draw them its own way.
 */
export type SourceEvent =
  | {
      type: 'download-start';
      /** what is being fetched, for people: 'npm:pkg@1.0.0', a file name */
      label: string;
      url: string;
      /** undefined when the server does not say */
      totalBytes?: number;
      /** bytes already on disk from an interrupted earlier attempt, resumed with an HTTP Range request */
      resumedFrom?: number;
    }
  | { type: 'download-progress'; label: string; url: string; bytes: number; totalBytes?: number }
  | { type: 'download-end'; label: string; url: string; bytes: number; ms: number }
  | { type: 'download-retry'; label: string; url: string; attempt: number; reason: string; resumeAt: number }
  | { type: 'cache-hit'; label: string }
  | {
      type: 'cache-damaged';
      label: string;
      /** the blob whose bytes do not hash to its name */
      path: string;
      found: string;
      /** what happens next: fetched again, converted again, or refused (offline) */
      action: 'refetch' | 'rebuild' | 'refused';
    }
  | { type: 'convert-start'; label: string; converter: string }
  | { type: 'convert-end'; label: string; converter: string; ms: number };

export type SourceEventListener = (event: SourceEvent) => void;

/** Settings every source shares; the CLI's flags are generated from this type (see src/cli/options.ts). */
export interface SourceSettings {
  /** cache folder; default: $GRAFT_CACHE_DIR, else $XDG_CACHE_HOME/graft, else ~/.cache/graft */
  cacheDir?: string;
  /** never touch the network: a source missing from the cache is an error */
  offline?: boolean;
  /** re-resolve moving references (an hf: branch) even when the cache has them */
  refresh?: boolean;
}

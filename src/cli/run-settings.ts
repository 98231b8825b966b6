import { type DataLimits, limitsFromOptions } from '../data/limits.js';
import type { SourceEventListener, SourceSettings } from '../zoo/sources/events.js';
import type { RuntimeCliSettings } from './commands.js';
import type { CliIo } from './io.js';
import type { LimitSettings, OutputSettings, RegistrySettings } from './options.js';
import { progressRenderer } from './progress.js';

/**
 * The settings every training command hands its runner the same way: where onnxruntime runs, where
 * models come from and are cached, the environment, and download progress unless --quiet.
 */
export function runSettings(
  options: OutputSettings & RegistrySettings & SourceSettings & RuntimeCliSettings & LimitSettings,
  io: CliIo,
): RuntimeCliSettings &
  SourceSettings &
  RegistrySettings & { env: NodeJS.ProcessEnv; cwd: string; onSourceEvent?: SourceEventListener; limits: DataLimits } {
  return {
    limits: limitsFromOptions(options),
    device: options.device,
    threads: options.threads,
    cacheDir: options.cacheDir,
    offline: options.offline,
    refresh: options.refresh,
    modelsFile: options.modelsFile,
    env: io.env,
    cwd: io.cwd,
    onSourceEvent: options.quiet ? undefined : progressRenderer(io),
  };
}

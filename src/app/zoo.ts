// `graft zoo list | info | pull`: the model registry (built-in entries plus the user's models file) and the cache.
import { type PullOptions, type PullResult, pullModel } from '../zoo/node/pull.js';
import { loadRegistry } from '../zoo/node/user-models.js';
import { entryNeedsInternet } from '../zoo/registry.js';
import type { ModelEntry } from '../zoo/types.js';

export interface RegistryPlace {
  modelsFile?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** A zoo entry with where it comes from and whether its first pull needs more than the npm registry. */
export type ZooModel = ModelEntry & { needsInternet: boolean; origin?: string };

function described(registry: ReturnType<typeof loadRegistry>, m: ModelEntry): ZooModel {
  return { ...m, needsInternet: entryNeedsInternet(m), origin: registry.origin(m.name) };
}

/** The zoo's models whose names match `glob` ('*' for all). */
export function listZooModels(glob: string, place: RegistryPlace = {}): ZooModel[] {
  const registry = loadRegistry(place);
  return registry.list(glob).map((m) => described(registry, m));
}

/** One zoo model; an unknown name is a GraftError listing the close ones. */
export function zooModelInfo(name: string, place: RegistryPlace = {}): ZooModel {
  const registry = loadRegistry(place);
  return described(registry, registry.get(name));
}

/** Fetches a zoo model into the cache (converting TF.js models to ONNX once). */
export async function pullZooModel(
  name: string,
  opts: Omit<PullOptions, 'registry'> & RegistryPlace = {},
): Promise<PullResult> {
  const registry = loadRegistry(opts);
  return pullModel(name, { ...opts, registry });
}

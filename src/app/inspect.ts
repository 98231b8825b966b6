// `graft inspect`: a zoo name or a model source, pulled (or read in place) and described.
import { type ModelReport, inspectModel } from '../zoo/inspect.js';
import { type PullOptions, loadPulledModel, pullModel, pullSource } from '../zoo/node/pull.js';
import { loadRegistry } from '../zoo/node/user-models.js';
import type { RegistryPlace } from './zoo.js';

export interface InspectResult extends ModelReport {
  /** as the user named it */
  model: string;
  path: string;
  sha256: string;
}

/** Pulls a zoo model or a source (an .onnx or model.json path, hf:, npm:, https:) and reports what is in it. */
export async function inspectTarget(
  target: string,
  opts: Omit<PullOptions, 'registry'> & RegistryPlace = {},
): Promise<InspectResult> {
  const registry = loadRegistry(opts);
  const pullOpts = { ...opts, registry };
  const known = registry.has(target);
  const pulled = known ? await pullModel(target, pullOpts) : await pullSource(target, pullOpts);
  const model = await loadPulledModel(pulled);
  const report = inspectModel(model, known ? pulled.entry : undefined);
  return { model: target, path: pulled.modelPath, sha256: pulled.sha256, ...report };
}

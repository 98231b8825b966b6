// Whole-network training graphs whose CPU form must not change when provider-specific formulations are
// added (target.test.ts compares their digests with the recorded ones).
import { loadTorchvisionFixture, readFixtureJson } from '../../onnx/test-utils/torchvision-fixture.js';
import { buildTrainingGraph, type TrainingGraph } from '../build.js';

export interface GraphSubject {
  name: string;
  build(target: string | undefined): TrainingGraph;
}

export function cpuGraphSubjects(): GraphSubject[] {
  const subjects: GraphSubject[] = [];
  for (const name of ['mobilenet_v2', 'resnet18'] as const) {
    const trainable = readFixtureJson(name, 'grads').params.map((p) => p.name);
    for (const shape of ['symbolic', 'fixed'] as const) {
      subjects.push({
        name: `${name} full backbone, ${shape} input`,
        build: (target) => {
          const model = loadTorchvisionFixture(name);
          if (shape === 'fixed') model.graph.inputs[0]!.shape = [2, 3, 64, 64];
          return buildTrainingGraph(model, {
            logits: 'logits',
            loss: { kind: 'softmax-cross-entropy' },
            trainable,
            target,
          });
        },
      });
    }
  }
  return subjects;
}

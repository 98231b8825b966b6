// The application layer: one home per recipe (train, fine-tune, text, compare, embed, evaluate, predict,
// export, report, zoo), as the entry points (CLI, studio, server) call them. `app` loads each recipe on its
// first call, so an entry point that runs one recipe does not load the others' dependencies; tests hand the
// CLI another `App` to see exactly what each flag reaches.
import type * as Cache from './cache.js';
import type * as Classifier from './classifier.js';
import type * as Compare from './compare.js';
import type * as CompareShards from './compare-shards.js';
import type * as Data from './data.js';
import type * as Demo from './demo.js';
import type * as Doctor from './doctor.js';
import type * as Embed from './embed.js';
import type * as Evaluate from './evaluate.js';
import type * as Export from './export.js';
import type * as FineTune from './finetune.js';
import type * as Inspect from './inspect.js';
import type * as LrFind from './finetune-lr-find.js';
import type * as Merge from './merge.js';
import type * as Queue from './queue.js';
import type * as Report from './report.js';
import type * as Serve from './serve.js';
import type * as TrainImage from './train-image.js';
import type * as TrainText from './train-text.js';
import type * as TextEmbed from './text-embed.js';
import type * as TextEval from './text-eval.js';
import type * as TextExport from './text-export.js';
import type * as TextPredict from './text-predict.js';
import type * as Zoo from './zoo.js';

/** A recipe as the entry points call it: always asynchronous (it may load its module first). */
type Recipe<F extends (...args: never[]) => unknown> = (...args: Parameters<F>) => Promise<Awaited<ReturnType<F>>>;

export interface App {
  detectDataKind: Recipe<typeof Data.detectDataKind>;
  trainImageClassifier: Recipe<typeof TrainImage.trainImageClassifier>;
  fineTuneImageClassifier: Recipe<typeof FineTune.fineTuneImageClassifier>;
  resumeFineTuneRun: Recipe<typeof FineTune.resumeFineTuneRun>;
  runTextTraining: Recipe<typeof TrainText.runTextTraining>;
  runCompare: Recipe<typeof Compare.runCompare>;
  lrFindImages: Recipe<typeof LrFind.lrFindImages>;
  runDemo: Recipe<typeof Demo.runDemo>;
  embedImages: Recipe<typeof Embed.embedImages>;
  evaluateClassifier: Recipe<typeof Evaluate.evaluateClassifier>;
  predictImages: Recipe<typeof Classifier.predictImages>;
  classifierKind: Recipe<typeof TextPredict.classifierKind>;
  predictTexts: Recipe<typeof TextPredict.predictTexts>;
  evaluateTextClassifier: Recipe<typeof TextEval.evaluateTextClassifier>;
  embedTexts: Recipe<typeof TextEmbed.embedTexts>;
  exportTextClassifier: Recipe<typeof TextExport.exportTextClassifier>;
  exportClassifier: Recipe<typeof Export.exportClassifier>;
  inspectTarget: Recipe<typeof Inspect.inspectTarget>;
  writeReport: Recipe<typeof Report.writeReport>;
  listZooModels: Recipe<typeof Zoo.listZooModels>;
  zooModelInfo: Recipe<typeof Zoo.zooModelInfo>;
  pullZooModel: Recipe<typeof Zoo.pullZooModel>;
  listCacheEntries: Recipe<typeof Cache.listCacheEntries>;
  verifyCacheEntries: Recipe<typeof Cache.verifyCacheEntries>;
  cleanCacheEntries: Recipe<typeof Cache.cleanCacheEntries>;
  checkProviders: Recipe<typeof Doctor.checkProviders>;
  // scale-out and serving (issue 16)
  runCompareShard: Recipe<typeof CompareShards.runCompareShard>;
  mergeShards: Recipe<typeof Merge.mergeShards>;
  runQueueWorker: Recipe<typeof Queue.runQueueWorker>;
  prepareServe: Recipe<typeof Serve.prepareServe>;
}

export const app: App = {
  detectDataKind: async (...a) => (await import('./data.js')).detectDataKind(...a),
  trainImageClassifier: async (...a) => (await import('./train-image.js')).trainImageClassifier(...a),
  fineTuneImageClassifier: async (...a) => (await import('./finetune.js')).fineTuneImageClassifier(...a),
  resumeFineTuneRun: async (...a) => (await import('./finetune.js')).resumeFineTuneRun(...a),
  runTextTraining: async (...a) => (await import('./train-text.js')).runTextTraining(...a),
  runCompare: async (...a) => (await import('./compare.js')).runCompare(...a),
  lrFindImages: async (...a) => (await import('./finetune-lr-find.js')).lrFindImages(...a),
  runDemo: async (...a) => (await import('./demo.js')).runDemo(...a),
  embedImages: async (...a) => (await import('./embed.js')).embedImages(...a),
  evaluateClassifier: async (...a) => (await import('./evaluate.js')).evaluateClassifier(...a),
  predictImages: async (...a) => (await import('./classifier.js')).predictImages(...a),
  classifierKind: async (...a) => (await import('./text-predict.js')).classifierKind(...a),
  predictTexts: async (...a) => (await import('./text-predict.js')).predictTexts(...a),
  evaluateTextClassifier: async (...a) => (await import('./text-eval.js')).evaluateTextClassifier(...a),
  embedTexts: async (...a) => (await import('./text-embed.js')).embedTexts(...a),
  exportTextClassifier: async (...a) => (await import('./text-export.js')).exportTextClassifier(...a),
  exportClassifier: async (...a) => (await import('./export.js')).exportClassifier(...a),
  inspectTarget: async (...a) => (await import('./inspect.js')).inspectTarget(...a),
  writeReport: async (...a) => (await import('./report.js')).writeReport(...a),
  listZooModels: async (...a) => (await import('./zoo.js')).listZooModels(...a),
  zooModelInfo: async (...a) => (await import('./zoo.js')).zooModelInfo(...a),
  pullZooModel: async (...a) => (await import('./zoo.js')).pullZooModel(...a),
  listCacheEntries: async (...a) => (await import('./cache.js')).listCacheEntries(...a),
  verifyCacheEntries: async (...a) => (await import('./cache.js')).verifyCacheEntries(...a),
  cleanCacheEntries: async (...a) => (await import('./cache.js')).cleanCacheEntries(...a),
  checkProviders: async (...a) => (await import('./doctor.js')).checkProviders(...a),
  runCompareShard: async (...a) => (await import('./compare-shards.js')).runCompareShard(...a),
  mergeShards: async (...a) => (await import('./merge.js')).mergeShards(...a),
  runQueueWorker: async (...a) => (await import('./queue.js')).runQueueWorker(...a),
  prepareServe: async (...a) => (await import('./serve.js')).prepareServe(...a),
};

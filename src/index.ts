// The library entry for Node (package.json `exports['.']`, `node` and `default` conditions): everything the
// browser entry has, plus what needs files, sharp or the network — loading a pretrained backbone from the
// zoo, reading .onnx files and image folders, checkpoints on disk, evaluating and exporting a saved model.
// Layers that users import on their own have subpaths too ('graft/onnx', 'graft/train', ...).
export * from './browser.js';

// load: a pretrained backbone (zoo name, .onnx path, hf:, npm:, https:), cut at its pooled features
export { loadBackbone, DEFAULT_IMAGE_BACKBONE, type Backbone, type BackboneOptions } from './app/backbone.js';
export { pullModel, type PullOptions, type PullResult } from './zoo/node/pull.js';
export { loadOnnxFile, saveOnnxFile, type SaveOnnxOptions } from './node/onnx-file.js';

// data: image folders and manifests, decoded and preprocessed for a model
export { scanImages, type ImageDataset, type ImageItem, type ScanImagesOptions } from './data/node/images.js';
export { loadImageArrays } from './data/node/loader.js';

// train: checkpoints on disk
export { fileCheckpoint, loadCheckpointFile, saveCheckpointFile } from './train/node/checkpoint-file.js';

// evaluate, predict, export a saved classifier
export { evaluateClassifier, type EvaluateOptions, type EvaluateResult } from './app/evaluate.js';
export { loadClassifier, predictFiles, type LoadedClassifier, type Prediction } from './app/classifier.js';
export { exportClassifier, type ExportFormat, type ExportResult } from './app/export.js';

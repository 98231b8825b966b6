import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GraftError } from '../errors.js';
import { getModel } from './registry.js';

function lookupError(name: string): GraftError {
  try {
    getModel(name);
  } catch (e) {
    if (e instanceof GraftError) return e;
    throw e;
  }
  assert.fail(`getModel('${name}') found a model`);
}

test('an unknown model name suggests the nearest zoo names: an architecture without its tag, typos', () => {
  assert.match(lookupError('efficientnet_b0').fields.fix!, /^did you mean 'efficientnet_b0\.imagenet'\?/);
  assert.match(lookupError('resnet999.imagenet').fields.fix!, /^did you mean 'resnet50\.imagenet_hf'\?/);
  assert.match(lookupError('mobilenet').fields.fix!, /'mobilenet_v2\.nsfwjs' or 'mobilenet_v2\.imagenet_hf'/);
  assert.match(lookupError('efficinetnet_b0.imagenet').fields.fix!, /did you mean 'efficientnet_b0\.imagenet'/);
  const far = lookupError('zzz');
  assert.doesNotMatch(far.fields.fix!, /did you mean/);
  assert.ok(far.fields.choices!.includes('efficientnet_b0.imagenet'), 'the valid names are listed');
  assert.equal(getModel('EfficientNet_B0.imagenet').name, 'efficientnet_b0.imagenet', 'case does not matter');
});

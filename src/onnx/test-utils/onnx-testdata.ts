import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Where Debian's libonnx-testdata puts the ONNX backend test models (apt-get install libonnx-testdata):
 * <suite>/<test>/model.onnx with test_data_set_N/input_K.pb and output_K.pb beside it.
 */
export const ONNX_TESTDATA_DIR = process.env.GRAFT_ONNX_TESTDATA ?? '/usr/share/libonnx-testdata/data';

/** The suites holding models ('real' holds only download links). */
export const ONNX_TESTDATA_SUITES = ['node', 'pytorch-converted', 'pytorch-operator', 'simple'] as const;

/** Every test model as '<suite>/<test>', sorted as the checker script sorts them; [] when the package is absent. */
export function listTestdataModels(root = ONNX_TESTDATA_DIR): string[] {
  const out: string[] = [];
  for (const suite of ONNX_TESTDATA_SUITES) {
    const dir = join(root, suite);
    if (!existsSync(dir)) continue;
    for (const test of readdirSync(dir).sort()) {
      if (existsSync(join(dir, test, 'model.onnx'))) out.push(`${suite}/${test}`);
    }
  }
  return out;
}

// onnxruntime-backed Runner for the gradient checks (test-only: autodiff itself never imports a runtime).
import { Session } from '../../runtime/session.js';
import type { Runner } from '../gradcheck.js';

export const ortRunner: Runner = async (model) => {
  const s = await Session.create(model, { intraOpThreads: 1 });
  return {
    run: (feeds) => s.run(feeds),
    dispose: () => s.dispose(),
  };
};

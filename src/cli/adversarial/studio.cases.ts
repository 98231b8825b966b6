// Hostile settings of `graft studio` (issue 14) that must end in a message, not a server: a port out of range,
// and a models file (the registry the studio lists cached models from) holding a secret instead of JSON.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AdversarialCase } from './types.js';

export const STUDIO_CASES: AdversarialCase[] = [
  {
    name: 'studio-port-out-of-range',
    item: 10,
    setup: () => ({
      argv: ['studio', '--port', '70000'],
      expect: { exit: 2, stderr: /The studio port must be a whole number from 0 to 65535/ },
    }),
  },
  {
    name: 'studio-models-file-holding-a-secret',
    item: 3,
    setup: (ctx) => {
      const file = join(ctx.dir, 'models.json');
      writeFileSync(file, `{"models": [${ctx.secret}`);
      return { argv: ['studio', '--port', '0', '--models-file', file], expect: { exit: 1, stderr: /models file/ } };
    },
  },
];

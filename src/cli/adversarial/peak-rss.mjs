// Preloaded into each adversarial child (node --import): writes the process's peak RSS (bytes) to the
// file GRAFT_ADVERSARIAL_RSS names when the process exits, however it exits.
import { writeFileSync } from 'node:fs';

const file = process.env.GRAFT_ADVERSARIAL_RSS;
if (file) {
  process.on('exit', () => {
    try {
      writeFileSync(file, String(process.resourceUsage().maxRSS * 1024));
    } catch {
      // the harness reports a missing figure itself
    }
  });
}

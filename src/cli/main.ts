import { processIo } from './io.js';
import { runCli } from './run.js';

// The process entry: everything testable lives in run.ts. Exit once stdout has drained, without waiting
// for idle keep-alive sockets the npm fetcher may hold open.
const code = await runCli(process.argv.slice(2), processIo());
process.exitCode = code;
process.stdout.write('', () => process.exit(code));

import { MAX_PROBLEMS, type Problem } from '../../onnx/check.js';
import type { CommandContext, InspectSettings } from '../commands.js';
import { progressRenderer } from '../progress.js';
import { shape, table } from './text.js';

export async function run({ app, options, args, io }: CommandContext<InspectSettings>): Promise<number> {
  const target = args.MODEL!;
  const report = await app.inspectTarget(target, {
    modelsFile: options.modelsFile,
    cacheDir: options.cacheDir,
    offline: options.offline,
    refresh: options.refresh,
    env: io.env,
    cwd: io.cwd,
    onEvent: options.quiet ? undefined : progressRenderer(io),
  });
  const { problems } = report;
  // Exit 1 for an invalid model: other commands' errors send users here to check their model.
  const verdict = () => {
    if (problems.length) {
      io.stderr.write(
        `error: ${target} is not a valid model: ${problems.length}${problems.length >= MAX_PROBLEMS ? '+' : ''} problem(s)` +
          `${options.json ? ' (in "problems")' : ' (listed above)'}\n`,
      );
    }
    return problems.length ? 1 : 0;
  };
  if (options.json) {
    const { model, path, sha256, ...rest } = report;
    io.stdout.write(`${JSON.stringify({ model, path, sha256, valid: problems.length === 0, ...rest }, null, 2)}\n`);
    return verdict();
  }
  const w = (s: string) => io.stdout.write(s);
  w(`${target}  (${report.path})\n`);
  w(`graph '${report.graphName}', opset ${report.opset}${report.producer ? `, from ${report.producer}` : ''}\n`);
  w(
    `${report.nodes} nodes, ${report.parameters.toLocaleString('en-US')} parameters in ${report.parameterTensors} tensors\n\n`,
  );
  w('inputs\n');
  w(
    table(
      ['  NAME', 'TYPE', 'SHAPE'],
      report.inputs.map((v) => [`  ${v.name}`, v.type ?? v.dtype ?? '?', v.type ? '' : shape(v.shape)]),
    ),
  );
  w('outputs\n');
  w(
    table(
      ['  NAME', 'TYPE', 'SHAPE'],
      report.outputs.map((v) => [`  ${v.name}`, v.type ?? v.dtype ?? '?', v.type ? '' : shape(v.shape)]),
    ),
  );
  w(`\nblocks (${report.blocks.length})\n`);
  w(
    table(
      ['  BLOCK', 'NODES', 'PARAMS', 'OUTPUT'],
      report.blocks.map((b) => [`  ${b.name}`, String(b.nodes), b.parameters.toLocaleString('en-US'), b.output ?? '']),
    ),
  );
  w('\nsuggested cut points for feature extraction (latest first)\n');
  if (report.cutPoints.length === 0) w('  none found: no single value carries all the data\n');
  else
    w(
      table(
        ['  VALUE', 'OP', 'SHAPE', 'WHY'],
        report.cutPoints.map((c) => [`  ${c.value}`, c.op, shape(c.shape), c.why]),
      ),
    );
  w('\nclassifier\n');
  if (!report.classifier) w('  none recognised (no dense layer between the last pooled value and the output)\n');
  else {
    const c = report.classifier;
    w(`  nodes     ${c.nodes.join(', ')} (${c.source === 'entry' ? 'from the zoo entry' : 'detected'})\n`);
    w(`  input     ${c.featureValue}\n  params    ${c.parameters.toLocaleString('en-US')}\n`);
    if (c.numClasses !== undefined) w(`  classes   ${c.numClasses}\n`);
  }
  w(`\nchecks (structure, opset ${report.opset}, ops, declared shapes)\n`);
  if (problems.length === 0) w('  no problems found\n');
  else for (const p of problems) w(problemText(p));
  return verdict();
}

/** One problem as an indented block: what and where, then what was found and how to fix it. */
function problemText(p: Problem): string {
  const where = [
    `graph '${p.graph}'`,
    p.node && `node '${p.node}'`,
    p.op && `op ${p.op}`,
    p.inputIndex !== undefined && `input #${p.inputIndex}`,
    p.value && `value '${p.value}'`,
  ].filter(Boolean);
  let text = `  - ${p.message} [${where.join(', ')}]\n`;
  if (p.expected) text += `      expected: ${p.expected}\n`;
  if (p.found) text += `      found:    ${p.found}\n`;
  return `${text}      fix: ${p.fix}\n`;
}

/**
 * The subcommands of `coldrl` (trainer/cli.ts), each a module loaded only when asked for. Their one-line
 * summaries are copied here so that `coldrl --help` loads none of them.
 */
export interface CommandModule { summary: string; help(): string; run(argv: string[]): Promise<number> }

/** name -> [module path relative to this file, one-line summary: the module's own, a test checks]. */
export const COMMANDS: Record<string, [string, string]> = {
  replay: ['../../replay/commands/replay.js', 'replay a trace through eviction policies and report hit ratios'],
  workload: ['../../replay/commands/workload.js', 'write a seeded workload (trap, cdn, video, loop, ...: coldrl workload --help lists them) as CSV or NGINX log'],
  train: ['./train.js', 'train the dueling DQN on a trace or log archive and export it to ONNX'],
  runs: ['./runs.js', 'list training runs, models and evaluations in the store'],
  serve: ['../../sidecar/commands/serve.js', 'serve eviction decisions to NGINX (framed Unix socket, gRPC, /metrics)'],
  monitor: ['../../sidecar/commands/monitor.js', 'show the sidecar fallback rate and latency over time'],
  bench: ['../../bench/index.js', 'benchmarks: replay, logs, sidecar, nginx, learn, candidates, target, gpu (prints figures)'],
  report: ['./report.js', 'write an HTML report with charts from the store'],
  demo: ['./demo.js', 'run the whole loop on a generated workload and report it'],
};

/** The module of command `name` (one of COMMANDS). */
export async function loadCommand(name: string): Promise<CommandModule> {
  return (await import(COMMANDS[name]![0])) as CommandModule;
}

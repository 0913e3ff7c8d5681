#!/usr/bin/env node
/**
 * The `coldrl` command: a table of subcommands, each a module loaded only when asked for (so `coldrl serve`
 * never loads tfjs, and `--help` starts in milliseconds). Each module exports
 *   summary: string; help(): string; run(argv: string[]): Promise<number>
 * Errors with a ColdrlError code print one line and exit with its exit code (2 for bad input).
 */
import { argumentHint, isColdrlError } from '../replay/errors.js';
import { COMMANDS, loadCommand } from './commands/index.js';


function usage(): string {
  const w = Math.max(...Object.keys(COMMANDS).map((k) => k.length));
  return `coldrl: learned cache eviction for NGINX proxy_cache

Usage: coldrl <command> [options]      (coldrl <command> --help for its options)

Commands:
${Object.entries(COMMANDS).map(([k, [, s]]) => `  ${k.padEnd(w)}  ${s}`).join('\n')}
`;
}

/** The command being run, for errors that do not name it themselves (option parsing). */
let running = '';

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    const sub = cmd === 'help' ? rest[0] : undefined;
    if (sub && COMMANDS[sub]) {
      const m = await loadCommand(sub);
      console.log(m.help());
      return 0;
    }
    console.log(usage());
    return cmd ? 0 : 2;
  }
  if (cmd === '--version' || cmd === '-v') {
    console.log('coldrl 0.1.0');
    return 0;
  }
  const entry = COMMANDS[cmd];
  if (!entry) {
    process.stderr.write(`coldrl: unknown command "${cmd}" [COLDRL_ERR_USAGE]\n\n${usage()}`);
    return 2;
  }
  running = cmd === 'bench' && rest[0] && !rest[0].startsWith('-') ? `${cmd} ${rest[0]}` : cmd;
  const m = await loadCommand(cmd);
  return m.run(rest);
}

// This file is only ever run as the program (the `coldrl` bin); nothing imports it.
main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (e: unknown) => {
    if (isColdrlError(e)) {
      // the stable code last, for scripts (replay/errors.ts): the message is for people and may change
      process.stderr.write(`coldrl: ${e.message} [${e.code}]\n`);
      process.exitCode = e.exitCode;
    } else if (String((e as NodeJS.ErrnoException)?.code ?? '').startsWith('SQLITE_')) {
      // a store that is damaged, locked past its busy timeout or read-only, found by a query: one line too
      process.stderr.write(`coldrl: the store: ${(e as Error).message} (${(e as NodeJS.ErrnoException).code}) [COLDRL_ERR_STORE]\n`);
      process.exitCode = 2;
    } else if (String((e as NodeJS.ErrnoException)?.code ?? '').startsWith('ERR_PARSE_ARGS')) {
      const message = String((e as Error).message).split('. ')[0]!;
      process.stderr.write(`coldrl${running ? ` ${running}` : ''}: ${message}${argumentHint(message)} [COLDRL_ERR_USAGE]\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`coldrl: internal error: ${e instanceof Error ? e.stack : String(e)}\n`);
      process.exitCode = 1;
    }
  },
);

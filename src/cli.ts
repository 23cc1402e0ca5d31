/**
 * Entry point. What clients launch — `serve` (the default command) with plain options — is parsed
 * here by hand, so a start loads neither commander nor any other command; everything else (help,
 * version, other commands, anything unusual) goes to commander in program.ts. Each verb's module
 * is imported only when that verb runs.
 */
import { fail, runServe } from './run.js';
import { parseServeFastPath } from './serve-argv.js';

export async function main(argv: string[]): Promise<void> {
  // Piping into `head` closes stdout early: end quietly, as every Unix tool does.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    void fail(err);
  });
  // Nowhere left to report to: just stop.
  process.stderr.on('error', () => process.exit(process.exitCode ?? 1));
  process.on('uncaughtException', (err) => void fail(err).then(() => process.exit()));
  const serveOpts = parseServeFastPath(argv.slice(2));
  if (serveOpts) {
    await runServe(serveOpts);
    return;
  }
  await (await import('./program.js')).runProgram(argv);
}

void main(process.argv);

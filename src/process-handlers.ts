import { fail } from './run.js';

/** Installed first by every start (serve-main.ts, main.ts): how the process meets a closed pipe or a stray error. */
export function installProcessHandlers(): void {
  // Piping into `head` closes stdout early: end quietly, as every Unix tool does.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    void fail(err);
  });
  // Nowhere left to report to: just stop.
  process.stderr.on('error', () => process.exit(process.exitCode ?? 1));
  process.on('uncaughtException', (err) => void fail(err).then(() => process.exit()));
}

/** Every command but a plain `serve` start (see cli.ts): commander parses, each verb's module loads only when that verb runs. */
import { installProcessHandlers } from './process-handlers.js';

export async function main(argv: string[]): Promise<void> {
  installProcessHandlers();
  await (await import('./program.js')).runProgram(argv);
}

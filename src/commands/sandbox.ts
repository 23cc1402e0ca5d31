import { LoopIqError } from '../api/errors.js';
import { SANDBOX_TOKENS } from '../sandbox/seed.js';
import { startSandbox } from '../sandbox/fake-loopiq.js';
import { processIo, type Io } from './context.js';

export function parsePort(raw: string | undefined): number {
  if (raw === undefined) return 8787;
  const port = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new LoopIqError('config_invalid', `--port ${raw}: not a port number.`, 'Use a number from 1 to 65535, e.g. --port 8787.');
  }
  return port;
}

/** Serves the fake LoopIQ on a loopback port, to try login, use-org, rotate and approvals without an account. */
export async function sandbox(opts: { port?: string }, io: Io = processIo(), until?: Promise<void>): Promise<number> {
  const port = parsePort(opts.port);
  let s;
  try {
    s = await startSandbox({ port });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new LoopIqError('config_invalid', `Port ${port} on 127.0.0.1 is already in use (another sandbox?).`, `Stop what uses it, or choose another port: loopiq-mcp sandbox --port ${port === 65535 ? 8788 : port + 1}`);
    if (code === 'EACCES') throw new LoopIqError('config_invalid', `Port ${port} on 127.0.0.1 needs privileges this user does not have.`, 'Choose a port above 1023, e.g. --port 8787.');
    throw err;
  }
  io.stdout.write(
    [
      `SANDBOX LoopIQ API at ${s.url} (fake data; Ctrl-C to stop)`,
      '',
      'Demo tokens:',
      `  ${SANDBOX_TOKENS.alex}   Alex: member of acme, globex, umbrella (MCP disabled)`,
      `  ${SANDBOX_TOKENS.sam}    Sam: member of initech only`,
      '  (`logout` and `rotate` revoke a demo token like a real one; restart the sandbox to get them back.)',
      '',
      'Try:',
      `  export LOOPIQ_API_URL=${s.url}`,
      `  echo ${SANDBOX_TOKENS.alex} | loopiq-mcp login --with-token`,
      '  loopiq-mcp use-org acme',
      '',
      `Hosted-style MCP endpoint: ${s.url}/mcp`,
      `  echo ${SANDBOX_TOKENS.alex} | loopiq-mcp login --mcp-url ${s.url}/mcp --with-token`,
      '',
    ].join('\n'),
  );
  await (until ??
    new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    }));
  await s.close();
  return 0;
}

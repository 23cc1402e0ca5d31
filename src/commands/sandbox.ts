import { SANDBOX_TOKENS } from '../sandbox/seed.js';
import { startSandbox } from '../sandbox/fake-loopiq.js';
import { processIo, type Io } from './context.js';

/** Serves the fake LoopIQ on a loopback port, to try login, use-org, rotate and approvals without an account. */
export async function sandbox(opts: { port?: string }, io: Io = processIo()): Promise<number> {
  const s = await startSandbox({ port: opts.port ? Number(opts.port) : 8787 });
  io.stdout.write(
    [
      `SANDBOX LoopIQ API at ${s.url} (fake data; Ctrl-C to stop)`,
      '',
      'Demo tokens:',
      `  ${SANDBOX_TOKENS.alex}   Alex: member of acme, globex, umbrella (MCP disabled)`,
      `  ${SANDBOX_TOKENS.sam}    Sam: member of initech only`,
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
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await s.close();
  return 0;
}

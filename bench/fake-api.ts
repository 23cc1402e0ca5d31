/**
 * The fake LoopIQ API for `npm run bench`, in a process of its own so that serving HTTP does not
 * share an event loop (or a core's time slice) with the benchmark's client. Talks over IPC.
 */
import { startSandbox } from '../src/sandbox/fake-loopiq.js';

type Ask = { id: number; kind: 'connections' } | { id: number; kind: 'issueToken'; user: string };

const sandbox = await startSandbox({ port: Number(process.env.BENCH_API_PORT ?? 0) });
// Run by hand (no IPC): print the URL and serve until killed.
if (!process.send) process.stdout.write(`${sandbox.url}\n`);
else process.on('message', (m: Ask) => {
  const value = m.kind === 'connections' ? sandbox.connections() : sandbox.fake.issueToken(m.user);
  process.send!({ id: m.id, value });
});
if (process.send) process.on('disconnect', () => void sandbox.close().then(() => process.exit(0)));
process.send?.({ id: 0, value: sandbox.url });

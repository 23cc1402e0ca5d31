// Preloaded into the measured servers by the benchmark only: `kill -USR2 <pid>` runs a full GC
// and reports the heap on stderr.
process.on('SIGUSR2', () => {
  globalThis.gc?.();
  globalThis.gc?.();
  process.stderr.write(`bench-heap ${process.memoryUsage().heapUsed}\n`);
});

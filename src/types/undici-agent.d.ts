// undici's Agent module, imported by path (src/api/client.ts): the package has no exports map, and
// its index loads fetch, WebSocket, caches and mocks too. Typed as the index types it.
declare module 'undici/lib/dispatcher/agent.js' {
  const Agent: typeof import('undici').Agent;
  export default Agent;
}

import { existsSync } from 'node:fs';

/** The suite needs the built CLI and the private keyring session; fail loudly without them. */
export default function setup() {
  if (!existsSync(new URL('../../dist/cli.js', import.meta.url))) {
    throw new Error('dist/cli.js is missing: run the suite with `npm test` (it builds first).');
  }
  if (process.env.LOOPIQ_TEST_KEYRING !== '1') {
    throw new Error('Tests must run inside scripts/with-keyring.sh (use `npm test`), which provides a private Secret Service.');
  }
}

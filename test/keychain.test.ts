import { randomUUID } from 'node:crypto';
import { AsyncEntry } from '@napi-rs/keyring';
import { afterAll, describe, expect, it } from 'vitest';
import { Keychain } from '../src/auth/keychain.js';

// Runs inside scripts/with-keyring.sh: a private gnome-keyring on a private bus. No skip: if the
// Secret Service is missing, these fail.
const service = `loopiq-mcp-test-${randomUUID()}`;
const env = { ...process.env, LOOPIQ_KEYCHAIN_SERVICE: service };

describe('OS keychain (real Secret Service)', () => {
  afterAll(async () => {
    await new Keychain('https://a.example', env).delete().catch(() => {});
  });

  it('round-trips a secret through @napi-rs/keyring pinned to secret-service', async () => {
    const entry = new AsyncEntry(service, 'raw-roundtrip', { linux: { store: 'secret-service' } });
    await entry.setPassword('s3cret-value');
    expect(await entry.getPassword()).toBe('s3cret-value');
    expect(await entry.deletePassword()).toBe(true);
    expect(await entry.getPassword()).toBeNull();
  });

  it('keeps one token per API origin, so staging and production never mix', async () => {
    const prod = new Keychain('https://a.example', env);
    const staging = new Keychain('https://b.example', env);
    await prod.set('tok-prod');
    expect(await staging.get()).toBeNull();
    expect(await prod.get()).toBe('tok-prod');
    expect(await prod.delete()).toBe(true);
    expect(await prod.delete()).toBe(false);
  });
});

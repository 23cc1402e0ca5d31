import { nodeCrypto } from '../util/node-crypto.js';
import { join } from 'node:path';
import { canonicalJson } from './digest.js';
import { withLock } from './lock.js';
import { preferKeychain, randomSecret, type SecretSlot } from './secret-slot.js';

/**
 * The key that authenticates approval records and the audit anchor. It lives in the OS keychain,
 * not in the state dir: a process that can write the state dir's files but does not read the
 * keychain cannot make, flip or alter an approval (threat (c) in docs/threat-model.md).
 */
export class GateKey {
  private key: Promise<Buffer> | undefined;
  private readonly slot: () => Promise<SecretSlot>;

  constructor(
    private readonly stateDir: string,
    env: NodeJS.ProcessEnv,
    slot?: () => Promise<SecretSlot>,
  ) {
    this.slot = slot ?? preferKeychain('gate-key', join(stateDir, 'gate.key'), env);
  }

  private load(): Promise<Buffer> {
    return (this.key ??= withLock(join(this.stateDir, 'gate-key.lock'), async () => {
      const slot = await this.slot();
      let hex = await slot.get();
      if (!hex || !/^[0-9a-f]{64}$/.test(hex)) {
        await slot.set(randomSecret());
        hex = await slot.get();
      }
      if (!hex) throw new Error(`could not keep the approval key in ${slot.where}`);
      return Buffer.from(hex, 'hex');
    }).catch((err: unknown) => {
      this.key = undefined;
      throw err;
    }));
  }

  async mac(value: unknown): Promise<string> {
    return nodeCrypto().createHmac('sha256', await this.load()).update(canonicalJson(value)).digest('hex');
  }

  async verify(value: unknown, mac: unknown): Promise<boolean> {
    if (typeof mac !== 'string' || !/^[0-9a-f]{64}$/.test(mac)) return false;
    const expected = Buffer.from(await this.mac(value), 'hex');
    return nodeCrypto().timingSafeEqual(expected, Buffer.from(mac, 'hex'));
  }
}

// Idempotency keys: every cart and checkout mutation carries one, so that a
// retry of the same action (a timeout, a 429, a dropped connection, the
// shopper's "try again") is served at most once, while a new action (or the
// same one with other input) gets a new key. The API accepts 1-255 of
// A-Z a-z 0-9 - _ . : (docs/api.md#idempotency-keys).

export const KEY_PATTERN = /^[A-Za-z0-9\-_.:]{1,255}$/;

function randomId(): string {
  const c = globalThis.crypto;
  // randomUUID exists only in secure contexts (https, localhost).
  if (typeof c?.randomUUID === 'function') return c.randomUUID();
  const b = new Uint8Array(16);
  c.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

/** A fresh key, prefixed with the action's name (e.g. "add:…") for the logs. */
export function newIdempotencyKey(action: string): string {
  const prefix = action.replace(/[^A-Za-z0-9\-_.]/g, '').slice(0, 32) || 'op';
  return `${prefix}:${randomId()}`;
}

/**
 * ActionKeys hands out the key for an attempt at an action. An attempt
 * whose answer never came (a transport failure) leaves its key pending: the
 * next attempt with the same input (a retry) reuses it; any other input, or
 * an attempt after an answer, gets a new key.
 */
export class ActionKeys {
  private pending: { signature: string; key: string } | null = null;

  constructor(private readonly action: string) {}

  /** The key for an attempt with this input (any JSON-able value). */
  keyFor(input: unknown): string {
    const signature = JSON.stringify(input);
    if (this.pending?.signature !== signature) {
      this.pending = { signature, key: newIdempotencyKey(this.action) };
    }
    return this.pending.key;
  }

  /** The server answered (success or refusal): the next attempt is new. */
  answered(): void {
    this.pending = null;
  }
}

// mutate runs a mutation and retries what is worth retrying with the very
// same variables, idempotency key included, so that a retry is the same
// action: RATE_LIMITED (HTTP 429) after its Retry-After, a server that is
// briefly unavailable or timed out, and a request that got no answer.
// Refusals (userErrors) are answers, never retried here.
import type { AnyVariables, Client, CombinedError, TypedDocumentNode } from '@urql/core';

export type RetryReason = 'rate-limited' | 'unavailable' | 'network';

export interface RetryNotice {
  reason: RetryReason;
  delayMs: number;
  /** The attempt that failed, from 1. */
  attempt: number;
}

/** No answer (after the retries), or an error that is not a refusal. */
export class TransportError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
    readonly reason: RetryReason | undefined,
    /** On a rate limit: how long the server asked to wait. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'TransportError';
  }
}

const MAX_DELAY_MS = 30_000;

/** Seconds, or an HTTP date, as milliseconds from now. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (value == null || value.trim() === '') return undefined;
  const secs = Number(value);
  if (Number.isFinite(secs)) return Math.max(0, secs * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

const clamp = (ms: number) => Math.min(MAX_DELAY_MS, Math.max(100, ms));

/** Whether (and after how long) a failed attempt is worth another. */
export function retryAfter(error: CombinedError, attempt: number): { reason: RetryReason; delayMs: number } | undefined {
  const codes = error.graphQLErrors.map((e) => e.extensions?.code);
  const response = error.response as Response | undefined;
  const status = response?.status;
  const header = parseRetryAfter(response?.headers?.get?.('Retry-After'));
  const backoff = 500 * 2 ** (attempt - 1);
  if (status === 429 || codes.includes('RATE_LIMITED')) {
    const ext = error.graphQLErrors.find((e) => e.extensions?.code === 'RATE_LIMITED')?.extensions;
    const ms = header ?? (typeof ext?.retryAfterMs === 'number' ? ext.retryAfterMs : 1000);
    return { reason: 'rate-limited', delayMs: clamp(ms) };
  }
  if (
    status === 502 || status === 503 || status === 504 ||
    codes.includes('SERVICE_UNAVAILABLE') || codes.includes('TIMEOUT')
  ) {
    return { reason: 'unavailable', delayMs: clamp(header ?? backoff) };
  }
  if (error.networkError && error.graphQLErrors.length === 0) {
    return { reason: 'network', delayMs: clamp(backoff) };
  }
  return undefined;
}

const messages: Record<RetryReason, string> = {
  'rate-limited': 'The shop is very busy right now. Please try again in a moment.',
  unavailable: 'The shop is briefly unavailable. Please try again.',
  network: 'We could not reach the shop. Check your connection and try again.',
};

export interface MutateOptions {
  /** Told before each wait for a retry (e.g. to say "retrying in 2 s"). */
  onRetry?: (n: RetryNotice) => void;
  /** Attempts in all (default 5). */
  attempts?: number;
  /**
   * Whether RATE_LIMITED is retried (default true). A limit meant to stop
   * guessing (gift card codes) is better told to the shopper than waited
   * out: the TransportError then carries retryAfterMs.
   */
  retryRateLimited?: boolean;
  sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function mutate<Data, Variables extends AnyVariables>(
  client: Client,
  document: TypedDocumentNode<Data, Variables>,
  variables: Variables,
  opts: MutateOptions = {},
): Promise<Data> {
  const attempts = opts.attempts ?? 5;
  const sleep = opts.sleep ?? defaultSleep;
  for (let attempt = 1; ; attempt++) {
    const result = await client.mutation(document, variables, { requestPolicy: 'network-only' }).toPromise();
    if (!result.error && result.data) return result.data;
    const error = result.error;
    const retry = error ? retryAfter(error, attempt) : undefined;
    const retryable = retry && !(retry.reason === 'rate-limited' && opts.retryRateLimited === false);
    if (retry && retryable && attempt < attempts) {
      opts.onRetry?.({ ...retry, attempt });
      await sleep(retry.delayMs);
      continue;
    }
    const code = error?.graphQLErrors.find((e) => e.extensions?.code)?.extensions?.code as string | undefined;
    const message = retry
      ? messages[retry.reason]
      : `Something went wrong${code ? ` (${code})` : ''}. Please try again.`;
    throw new TransportError(message, code, retry?.reason, retry?.reason === 'rate-limited' ? retry.delayMs : undefined);
  }
}

// Whether the API server is reachable, judged in the background so that readiness checks (CSI
// Probe, /readyz) answer from memory instead of adding an API round trip to every probe.
import type { JsonRequester } from './custom-objects.ts';

export interface ApiHealth {
  /** True when the last check, no older than staleAfterMs, reached the API server. */
  reachable(): boolean;
  /** Checks now and records the outcome. */
  check(): Promise<boolean>;
  stop(): void;
}

export interface ApiHealthOptions {
  intervalMs?: number;
  /** A success older than this no longer counts (default three intervals). */
  staleAfterMs?: number;
  now?: () => number;
}

/** Polls with `ping` every intervalMs; any resolved ping counts as reachable. */
export function startApiHealth(ping: () => Promise<unknown>, options: ApiHealthOptions = {}): ApiHealth {
  const intervalMs = options.intervalMs ?? 5_000;
  const staleAfterMs = options.staleAfterMs ?? 3 * intervalMs;
  const now = options.now ?? Date.now;
  let lastOk: number | undefined;
  let lastFailed = false;
  const check = async () => {
    try {
      await ping();
      lastOk = now();
      lastFailed = false;
      return true;
    } catch {
      lastFailed = true;
      return false;
    }
  };
  const timer = setInterval(() => void check(), intervalMs);
  timer.unref();
  void check();
  return {
    reachable: () => !lastFailed && lastOk !== undefined && now() - lastOk <= staleAfterMs,
    check,
    stop: () => clearInterval(timer),
  };
}

/** Pings GET /version, which every authenticated client may read. */
export function versionPing(client: JsonRequester): () => Promise<unknown> {
  return () => client.request('GET', '/version');
}

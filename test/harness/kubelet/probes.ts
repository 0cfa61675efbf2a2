// Probes and lifecycle hooks (exec, httpGet, tcpSocket, sleep) and the per-container prober that
// runs startup, then liveness and readiness probes with the kubelet's timing and thresholds.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import type { V1Container, V1LifecycleHandler, V1Probe } from '@kubernetes/client-node';
import type { ExecResult } from './container-process.ts';

export interface HandlerResult {
  success: boolean;
  message: string;
}

export interface HandlerTarget {
  podIP: string;
  container: V1Container;
  /** Runs argv inside the container. */
  exec(argv: readonly string[], timeoutMs: number): Promise<ExecResult>;
}

type Handler = Pick<V1Probe, 'exec' | 'httpGet' | 'tcpSocket' | 'grpc'> & Pick<V1LifecycleHandler, 'sleep'>;

const USER_AGENT = 'kube-probe/1.36';
const MAX_BODY = 10 * 1024;

/** A port given by number or by the name of one of the container's ports. */
export function resolvePort(port: number | string, container: V1Container): number {
  if (typeof port === 'number') return port;
  if (/^\d+$/.test(port)) return Number(port);
  const named = (container.ports ?? []).find((p) => p.name === port);
  if (!named) throw new Error(`port "${port}" is not a named port of container "${container.name}"`);
  return named.containerPort;
}

export async function runHandler(
  handler: Handler,
  target: HandlerTarget,
  timeoutMs: number,
): Promise<HandlerResult> {
  try {
    if (handler.exec) {
      const result = await target.exec(handler.exec.command ?? [], timeoutMs);
      if (result.timedOut) return { success: false, message: `command timed out after ${timeoutMs / 1000}s` };
      return result.exitCode === 0
        ? { success: true, message: result.output }
        : { success: false, message: result.output || `command exited with ${result.exitCode}` };
    }
    if (handler.httpGet) {
      const get = handler.httpGet;
      const scheme = (get.scheme ?? 'HTTP').toUpperCase();
      const host = get.host || target.podIP;
      const port = resolvePort(get.port as number | string, target.container);
      const headers: Record<string, string> = { 'User-Agent': USER_AGENT, Accept: '*/*' };
      for (const h of get.httpHeaders ?? []) headers[h.name] = h.value;
      const status = await httpStatus(scheme, host, port, get.path || '/', headers, timeoutMs);
      return status >= 200 && status < 400
        ? { success: true, message: `HTTP probe succeeded with statuscode: ${status}` }
        : { success: false, message: `HTTP probe failed with statuscode: ${status}` };
    }
    if (handler.tcpSocket) {
      const host = handler.tcpSocket.host || target.podIP;
      const port = resolvePort(handler.tcpSocket.port as number | string, target.container);
      await tcpConnect(host, port, timeoutMs);
      return { success: true, message: '' };
    }
    if (handler.sleep) {
      await new Promise((r) => setTimeout(r, handler.sleep!.seconds * 1000));
      return { success: true, message: '' };
    }
    if (handler.grpc) {
      // No gRPC health client here; documented as not enforced.
      return { success: true, message: 'grpc probes are not checked by the process kubelet' };
    }
    return { success: false, message: 'probe has no handler' };
  } catch (err) {
    return { success: false, message: err instanceof Error ? err.message : String(err) };
  }
}

function httpStatus(
  scheme: string,
  host: string,
  port: number,
  path: string,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = scheme === 'HTTPS' ? httpsRequest : httpRequest;
    const req = request(
      { host, port, path, method: 'GET', headers, timeout: timeoutMs, rejectUnauthorized: false },
      (res) => {
        let read = 0;
        res.on('data', (chunk: Buffer) => {
          read += chunk.length;
          if (read > MAX_BODY) res.destroy();
        });
        res.on('close', () => resolve(res.statusCode ?? 0));
        res.on('error', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('timeout', () =>
      req.destroy(
        new Error(`Get "${scheme.toLowerCase()}://${host}:${port}${path}": context deadline exceeded`),
      ),
    );
    req.on('error', reject);
    req.end();
  });
}

function tcpConnect(host: string, port: number, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
    socket.once('timeout', () => {
      socket.destroy();
      reject(new Error(`dial tcp ${host}:${port}: i/o timeout`));
    });
    socket.once('error', (err) => reject(new Error(`dial tcp ${host}:${port}: ${err.message}`)));
  });
}

export type ProbeKind = 'startup' | 'liveness' | 'readiness';

export interface ProberCallbacks {
  /** The startup probe succeeded, or there is none. */
  started(): void;
  readiness(ready: boolean): void;
  /** A startup or liveness probe reached its failure threshold: the container must be killed. */
  failed(kind: 'startup' | 'liveness', message: string): void;
  /** One failed probe run (an Unhealthy event). */
  unhealthy(kind: ProbeKind, message: string): void;
}

/** Runs one container's probes while it runs; stop() when it exits. */
export class ContainerProber {
  readonly #container: V1Container;
  readonly #target: HandlerTarget;
  readonly #callbacks: ProberCallbacks;
  readonly #timers = new Set<NodeJS.Timeout>();
  #stopped = false;

  constructor(container: V1Container, target: HandlerTarget, callbacks: ProberCallbacks) {
    this.#container = container;
    this.#target = target;
    this.#callbacks = callbacks;
  }

  start(): void {
    const startup = this.#container.startupProbe;
    if (startup) {
      this.#run('startup', startup, () => {
        this.#callbacks.started();
        this.#startMain();
        return false;
      });
    } else {
      this.#callbacks.started();
      this.#startMain();
    }
  }

  stop(): void {
    this.#stopped = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
  }

  #startMain(): void {
    const { livenessProbe, readinessProbe } = this.#container;
    if (livenessProbe) this.#run('liveness', livenessProbe, () => true);
    if (readinessProbe) this.#run('readiness', readinessProbe, () => true);
  }

  /** `onSuccessThreshold` returns whether to keep probing. */
  #run(kind: ProbeKind, probe: V1Probe, onSuccessThreshold: () => boolean): void {
    const period = (probe.periodSeconds ?? 10) * 1000;
    const timeout = (probe.timeoutSeconds ?? 1) * 1000;
    const successThreshold = probe.successThreshold ?? 1;
    const failureThreshold = probe.failureThreshold ?? 3;
    let successes = 0;
    let failures = 0;
    let ready: boolean | undefined;
    const tick = async () => {
      if (this.#stopped) return;
      const result = await runHandler(probe, this.#target, timeout);
      if (this.#stopped) return;
      let keepGoing = true;
      if (result.success) {
        failures = 0;
        successes++;
        if (successes >= successThreshold) {
          if (kind === 'readiness' && ready !== true) {
            ready = true;
            this.#callbacks.readiness(true);
          }
          if (kind !== 'readiness') keepGoing = onSuccessThreshold();
        }
      } else {
        successes = 0;
        failures++;
        this.#callbacks.unhealthy(kind, result.message);
        if (failures >= failureThreshold) {
          if (kind === 'readiness') {
            if (ready !== false) {
              ready = false;
              this.#callbacks.readiness(false);
            }
          } else {
            this.#callbacks.failed(kind, result.message);
            keepGoing = false;
          }
        }
      }
      if (keepGoing) this.#schedule(tick, period);
    };
    this.#schedule(tick, (probe.initialDelaySeconds ?? 0) * 1000);
  }

  #schedule(fn: () => Promise<void>, delayMs: number): void {
    if (this.#stopped) return;
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      void fn();
    }, delayMs);
    this.#timers.add(timer);
  }
}

// The shape of a CSI method implementation, independent of gRPC: the server adapts these to
// grpc-js, adding deadlines, logging, metrics and error mapping around every call.
import type { Logger } from '../telemetry/logger.ts';

export interface CallContext {
  /** Full gRPC method path, e.g. /csi.v1.Controller/CreateSnapshot. */
  method: string;
  /** Aborted when the call's deadline passes or the client cancels. */
  signal: AbortSignal;
  deadline: Date | undefined;
  log: Logger;
  /** W3C trace context of the call (from the tracing hook or the client's metadata). */
  traceparent: string | undefined;
}

// biome-ignore lint/suspicious/noExplicitAny: handlers of one service take different messages.
export type UnaryHandler<Req = any, Res = any> = (request: Req, call: CallContext) => Promise<Res>;

export type ServiceHandlers = Record<string, UnaryHandler>;

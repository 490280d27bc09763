// IdcClient: the idc.v1 services over Connect's gRPC transport (HTTP/2).

import type { SecureClientSessionOptions } from "node:http2";

import { type Client, type Interceptor, type Transport, createClient } from "@connectrpc/connect";
import { Http2SessionManager, createGrpcTransport } from "@connectrpc/connect-node";

import {
  type GetChartRequest,
  type GetMACDGraphRequest,
  IndicatorGraphService,
} from "../gen/idc/v1/indicator_graph_service_pb.js";
import {
  type ComputeIndicatorsRequest,
  type ComputeIndicatorsResponse,
  type GetMACDRequest,
  type GetMACDResponse,
  IndicatorService,
  type ListSymbolsResponse,
} from "../gen/idc/v1/indicator_service_pb.js";
import { type Entry, entries } from "./catalogue.js";
import { toIdcError } from "./errors.js";
import { type Image, type ImageMessage, assembleImage } from "./image.js";
import {
  type CallOptions,
  type ClientOptions,
  DEFAULT_MAX_RECEIVE_BYTES,
  DEFAULT_TIMEOUT_MS,
  checkOptions,
} from "./options.js";
import {
  type ChartQuery,
  type GraphQuery,
  type IndicatorQuery,
  type MACDQuery,
  chartRequest,
  graphRequest,
  indicatorsRequest,
  macdRequest,
} from "./queries.js";

/** A ready request message (e.g. from `create` or `fromJson`), or a query that builds one. */
function request<Q, M extends { $typeName: string }>(query: Q | M, build: (query: Q) => M): M {
  return typeof query === "object" && query !== null && "$typeName" in query ? (query as M) : build(query as Q);
}

/** Reads `stream` to its end or first error, discarding what it yields. */
async function drain(stream: AsyncIterator<unknown>): Promise<void> {
  try {
    while (!(await stream.next()).done);
  } catch {
    // The stream was aborted: that is its expected end here.
  }
}

/** The address of a local idc server on its default port. */
export const DEFAULT_TARGET = "localhost:50051";

/**
 * A client of idc.v1.IndicatorService and idc.v1.IndicatorGraphService over
 * one HTTP/2 connection, opened by the first call. Every call has a deadline
 * (options.timeoutMs, 30 s by default, or the call's own) and fails with an
 * IdcError that carries the gRPC code and the BadRequest field violations.
 * Call close() when done.
 */
export class IdcClient {
  /** The transport, for calling other services of the same server (e.g. the article's idc.Indicator). */
  readonly transport: Transport;
  private readonly sessions: Http2SessionManager;
  private readonly indicators: Client<typeof IndicatorService>;
  private readonly graphs: Client<typeof IndicatorGraphService>;
  private readonly timeoutMs: number;

  /**
   * @param target "host:port", e.g. "localhost:50051" or "[::1]:50051".
   * @throws Error for a token over plaintext without allowInsecureToken, a
   *   bad token, or a client certificate without its key; never repeating the token.
   */
  constructor(target: string = DEFAULT_TARGET, options: ClientOptions = {}) {
    checkOptions(options);
    const tls = options.tls;
    const baseUrl = `${tls === undefined ? "http" : "https"}://${target}`;
    const nodeOptions: SecureClientSessionOptions = {};
    if (tls !== undefined) {
      nodeOptions.minVersion = "TLSv1.2";
      if (tls.ca !== undefined) nodeOptions.ca = tls.ca;
      if (tls.cert !== undefined) nodeOptions.cert = tls.cert;
      if (tls.key !== undefined) nodeOptions.key = tls.key;
      if (tls.serverName !== undefined) nodeOptions.servername = tls.serverName;
    }
    this.sessions = new Http2SessionManager(baseUrl, {}, nodeOptions);
    const interceptors: Interceptor[] = [];
    const token = options.token;
    if (token !== undefined) {
      interceptors.push((next) => (request) => {
        request.header.set("authorization", `Bearer ${token}`);
        return next(request);
      });
    }
    this.transport = createGrpcTransport({
      baseUrl,
      sessionManager: this.sessions,
      interceptors,
      readMaxBytes: options.maxReceiveBytes ?? DEFAULT_MAX_RECEIVE_BYTES,
    });
    this.indicators = createClient(IndicatorService, this.transport);
    this.graphs = createClient(IndicatorGraphService, this.transport);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /** Closes the connection; calls in flight fail with CANCELED or UNAVAILABLE. */
  close(): void {
    this.sessions.abort();
  }

  private callOptions(options: CallOptions, signal?: AbortSignal) {
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    return {
      ...(timeoutMs > 0 ? { timeoutMs } : {}),
      ...(signal !== undefined ? { signal } : {}),
      ...(options.headers !== undefined ? { headers: options.headers } : {}),
    };
  }

  private async unary<R>(options: CallOptions, call: () => Promise<R>): Promise<R> {
    try {
      return await call();
    } catch (error) {
      throw toIdcError(error, options.signal?.aborted === true);
    }
  }

  /** Calls an image stream and reassembles it, cancelling the stream when it turns out bad. */
  private async image(options: CallOptions, open: (signal: AbortSignal) => AsyncIterable<ImageMessage>): Promise<Image> {
    const stop = new AbortController();
    const signal = options.signal === undefined ? stop.signal : AbortSignal.any([options.signal, stop.signal]);
    const stream = open(signal)[Symbol.asyncIterator]();
    try {
      // Without return(): stopping early must not end the iterator before the abort below reaches it.
      return await assembleImage({ [Symbol.asyncIterator]: () => ({ next: () => stream.next() }) });
    } catch (error) {
      const cancelledByCaller = options.signal?.aborted === true;
      stop.abort();
      // Read the aborted stream to its end, so that Connect also clears its deadline timer.
      await drain(stream);
      throw toIdcError(error, cancelledByCaller);
    }
  }

  /** IndicatorService.GetMACD: the bars in the window and their MACD columns (see macdRows). */
  getMACD(query: MACDQuery | GetMACDRequest = {}, options: CallOptions = {}): Promise<GetMACDResponse> {
    const message = request(query, macdRequest);
    return this.unary(options, () => this.indicators.getMACD(message, this.callOptions(options, options.signal)));
  }

  /** IndicatorService.ComputeIndicators: a columnar frame of named series (see indicatorFrame). */
  computeIndicators(
    query: IndicatorQuery | ComputeIndicatorsRequest,
    options: CallOptions = {},
  ): Promise<ComputeIndicatorsResponse> {
    const message = request(query, indicatorsRequest);
    return this.unary(options, () => this.indicators.computeIndicators(message, this.callOptions(options, options.signal)));
  }

  /** IndicatorService.ListSymbols: the server's symbols with their date ranges and bar counts (see symbolRows). */
  listSymbols(options: CallOptions = {}): Promise<ListSymbolsResponse> {
    return this.unary(options, () => this.indicators.listSymbols({}, this.callOptions(options, options.signal)));
  }

  /**
   * IndicatorService.ListIndicators: the server's catalogue (every TA-Lib function, the 通达信 formula
   * files, the typed indicators, the operator's plugins), sorted by name; `namespace` ("talib",
   * case-insensitive) keeps one namespace. Compute any entry with fn(name, params).
   */
  async listIndicators(namespace = "", options: CallOptions = {}): Promise<Entry[]> {
    const response = await this.unary(options, () =>
      this.indicators.listIndicators({ namespace }, this.callOptions(options, options.signal)),
    );
    return entries(response);
  }

  /** IndicatorGraphService.GetMACDGraph, reassembled and checked against its size and SHA-256. */
  getMACDGraph(query: GraphQuery | GetMACDGraphRequest = {}, options: CallOptions = {}): Promise<Image> {
    const message = request(query, graphRequest);
    return this.image(options, (signal) => this.graphs.getMACDGraph(message, this.callOptions(options, signal)));
  }

  /** IndicatorGraphService.GetChart, reassembled and checked against its size and SHA-256. */
  getChart(query: ChartQuery | GetChartRequest = {}, options: CallOptions = {}): Promise<Image> {
    const message = request(query, chartRequest);
    return this.image(options, (signal) => this.graphs.getChart(message, this.callOptions(options, signal)));
  }
}

// Client options: deadline, TLS (custom CA, mutual TLS) and bearer tokens,
// which behave as in the Go client (clients/go/idc/options.go).

import { readFileSync } from "node:fs";

/** The per-call deadline in milliseconds when neither the client nor the call sets one: 30 s, as in Go and Python. */
export const DEFAULT_TIMEOUT_MS = 30_000;

/** The largest response message accepted: 256 MiB, as in Go and Python (a GetMACD bar costs about 68 bytes). */
export const DEFAULT_MAX_RECEIVE_BYTES = 256 * 1024 * 1024;

/** TLS settings. Every field is optional: `{}` checks the server's certificate against Node's root CAs. */
export interface TlsOptions {
  /** PEM CA certificates that may sign the server's certificate, e.g. a private CA; unset means Node's root CAs. */
  readonly ca?: string | Buffer;
  /** A PEM client certificate and its private key, for a server that requires them (mTLS). Give both or neither. */
  readonly cert?: string | Buffer;
  readonly key?: string | Buffer;
  /** The name the server's certificate must match; unset means the host of the target. */
  readonly serverName?: string;
}

export interface ClientOptions {
  /** The default deadline of each call in milliseconds (DEFAULT_TIMEOUT_MS); 0 or less turns it off. */
  readonly timeoutMs?: number;
  /** Connect over TLS with these settings; unset means plaintext (HTTP/2 with prior knowledge). */
  readonly tls?: TlsOptions;
  /**
   * A bearer token sent as "authorization: Bearer TOKEN" on every call, for a
   * server started with --auth-token-file or IDC_AUTH_TOKENS. As in Go, it is
   * refused over plaintext unless allowInsecureToken is also set, and
   * refused if empty or holding a space, control or non-ASCII character.
   */
  readonly token?: string;
  /** Let `token` travel over plaintext, where anyone on the path can read it: local servers and tests only. */
  readonly allowInsecureToken?: boolean;
  /** The largest response message in bytes (DEFAULT_MAX_RECEIVE_BYTES). */
  readonly maxReceiveBytes?: number;
}

/** Options for one call. */
export interface CallOptions {
  /** This call's deadline in milliseconds, instead of the client's timeoutMs. */
  readonly timeoutMs?: number;
  /** Cancels the call when aborted; the server then stops rendering a chart. */
  readonly signal?: AbortSignal;
  /** Extra request headers (gRPC metadata), e.g. x-request-id. */
  readonly headers?: Record<string, string>;
}

/** TlsOptions from PEM files, read now: caFile (empty for Node's roots), and certFile with keyFile for mTLS. */
export function tlsFromFiles(caFile: string, certFile = "", keyFile = ""): TlsOptions {
  if ((certFile === "") !== (keyFile === "")) {
    throw new Error("a client certificate needs both a certificate file and a key file");
  }
  return {
    ...(caFile !== "" ? { ca: readFileSync(caFile) } : {}),
    ...(certFile !== "" ? { cert: readFileSync(certFile), key: readFileSync(keyFile) } : {}),
  };
}

/** Throws unless `token` can be sent in an HTTP/2 header value; the message never repeats the token. */
export function checkToken(token: string): void {
  if (token === "") {
    throw new Error("token: empty token");
  }
  for (let i = 0; i < token.length; i++) {
    const code = token.charCodeAt(i);
    if (code <= 0x20 || code > 0x7e) {
      throw new Error(`token: a space, control or non-ASCII character at index ${i}`);
    }
  }
}

/** Throws for options that Go's Dial refuses: a plaintext token, a half client certificate, a bad timeout. */
export function checkOptions(options: ClientOptions): void {
  if (options.timeoutMs !== undefined && !Number.isFinite(options.timeoutMs)) {
    throw new Error(`timeoutMs must be a finite number of milliseconds, got ${options.timeoutMs}`);
  }
  const tls = options.tls;
  if (tls !== undefined && (tls.cert === undefined) !== (tls.key === undefined)) {
    throw new Error("a client certificate needs both cert and key");
  }
  if (options.token !== undefined) {
    checkToken(options.token);
    if (tls === undefined && options.allowInsecureToken !== true) {
      throw new Error(
        "token needs transport security: set tls, or allowInsecureToken to send the token over plaintext",
      );
    }
  }
}

// TLS, mutual TLS and bearer tokens against a real idc-server started here
// (IDC_SERVER_BIN, which nox -s contract sets) with certificates made by
// openssl: the client's options behave as the Go client's.

import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";

import { Code, IdcClient, IdcError, type TlsOptions, tlsFromFiles } from "../../src/index.js";
import { expectations } from "./expectations.js";

const SERVER = process.env["IDC_SERVER_BIN"] ?? "";
const TOKEN = "contract-token-5f2c";

let dir = "";
let server: ChildProcess | undefined;
let target = "";

function openssl(...args: string[]): void {
  execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
}

/** A CA named `name`, and a certificate it signs for `subject` with `extensions` (an openssl extension section). */
function makeCA(name: string): void {
  openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
    "-subj", `/CN=${name}`, "-keyout", `${name}.key`, "-out", `${name}.pem`);
}

function makeCert(ca: string, name: string, extensions: string): void {
  writeFileSync(join(dir, `${name}.ext`), extensions);
  openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", `/CN=${name}`,
    "-keyout", `${name}.key`, "-out", `${name}.csr`);
  openssl("x509", "-req", "-in", `${name}.csr`, "-CA", `${ca}.pem`, "-CAkey", `${ca}.key`, "-CAcreateserial",
    "-days", "2", "-extfile", `${name}.ext`, "-out", `${name}.pem`);
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      probe.close(() => (typeof address === "object" && address !== null ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

/** Resolves once something accepts TCP connections on `port`, polling until `deadlineMs` passes. */
async function waitForPort(port: number, deadlineMs: number): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    if (server?.exitCode !== null) throw new Error(`idc-server exited with ${server?.exitCode}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, "127.0.0.1", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`idc-server did not listen on ${port} within ${deadlineMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const files = (name: string) => [join(dir, `${name}.pem`), join(dir, `${name}.key`)] as const;

before(async () => {
  assert.ok(SERVER !== "", "the security contract tests start idc-server: set IDC_SERVER_BIN to its path");
  dir = mkdtempSync(join(tmpdir(), "idc-ts-tls-"));
  makeCA("ca");
  makeCA("other-ca");
  makeCert("ca", "server", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
  makeCert("ca", "client", "extendedKeyUsage=clientAuth\n");
  makeCert("other-ca", "stranger", "extendedKeyUsage=clientAuth\n");
  const port = await freePort();
  target = `127.0.0.1:${port}`;
  const [cert, key] = files("server");
  server = spawn(
    SERVER,
    ["--host", "127.0.0.1", "--port", String(port), "--tls-cert", cert, "--tls-key", key, "--tls-client-ca", join(dir, "ca.pem")],
    { env: { ...process.env, IDC_AUTH_TOKENS: TOKEN }, stdio: ["ignore", "ignore", "inherit"] },
  );
  await waitForPort(port, 60_000);
});

after(() => {
  server?.kill("SIGTERM");
  if (dir !== "") rmSync(dir, { recursive: true, force: true });
});

/** mTLS settings trusting `ca` and presenting the certificate `name`. */
function mtls(ca: string, name: string): TlsOptions {
  const [cert, key] = files(name);
  return tlsFromFiles(join(dir, `${ca}.pem`), cert, key);
}

async function failure(options: ConstructorParameters<typeof IdcClient>[1]): Promise<IdcError> {
  const client = new IdcClient(target, { timeoutMs: 20_000, ...options });
  try {
    await client.listSymbols();
  } catch (error) {
    assert.ok(error instanceof IdcError, String(error));
    return error;
  } finally {
    client.close();
  }
  assert.fail("the call succeeded");
}

describe("TLS, mTLS and tokens", () => {
  it("a private CA, a client certificate and the token get an answer", async () => {
    const client = new IdcClient(target, { tls: mtls("ca", "client"), token: TOKEN });
    try {
      assert.equal((await client.listSymbols()).defaultSymbol, "SPY");
    } finally {
      client.close();
    }
  });

  it("PEM contents work as well as files", async () => {
    const tls = { ca: readFileSync(join(dir, "ca.pem"), "utf8"), cert: readFileSync(join(dir, "client.pem")), key: readFileSync(join(dir, "client.key")) };
    const client = new IdcClient(target, { tls, token: TOKEN });
    try {
      assert.equal((await client.listSymbols()).symbols.length, expectations.symbols.list.length);
    } finally {
      client.close();
    }
  });

  it("no token or a wrong one is UNAUTHENTICATED", async () => {
    assert.equal((await failure({ tls: mtls("ca", "client") })).code, Code.Unauthenticated);
    assert.equal((await failure({ tls: mtls("ca", "client"), token: "wrong" })).code, Code.Unauthenticated);
  });

  it("no client certificate, or one from another CA, is UNAVAILABLE", async () => {
    assert.equal((await failure({ tls: tlsFromFiles(join(dir, "ca.pem")), token: TOKEN })).code, Code.Unavailable);
    assert.equal((await failure({ tls: mtls("ca", "stranger"), token: TOKEN })).code, Code.Unavailable);
  });

  it("a server certificate from a CA the client does not trust is UNAVAILABLE", async () => {
    assert.equal((await failure({ tls: mtls("other-ca", "client"), token: TOKEN })).code, Code.Unavailable);
  });

  it("plaintext to a TLS server is UNAVAILABLE", async () => {
    assert.equal((await failure({ token: TOKEN, allowInsecureToken: true })).code, Code.Unavailable);
  });

  it("a token over plaintext is refused unless allowed, and the error does not repeat it", () => {
    assert.throws(
      () => new IdcClient(target, { token: TOKEN }),
      (error: unknown) => error instanceof Error && /transport security/.test(error.message) && !error.message.includes(TOKEN),
    );
  });
});

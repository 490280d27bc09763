"""The ``idc-server`` command."""

from __future__ import annotations

import errno
import logging
import socket
import ssl
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from idc_server.config import ServerConfig, load_config
from idc_server.observability import setup_logging


def tls_problem(config: ServerConfig) -> str | None:
    """What is wrong with the TLS files of ``config``, in one line, or ``None``.

    gRPC's C core would only say that it failed to bind the port; Python's
    ``ssl`` reads the same PEM files and tells a bad certificate, a bad key,
    a key of another certificate and a bad client CA apart.
    """
    if config.tls_cert is None or config.tls_key is None:
        return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(config.tls_cert, config.tls_key)
    except (ssl.SSLError, OSError) as error:
        return _cert_and_key_problem(config.tls_cert, config.tls_key, error)
    if config.tls_client_ca is not None:
        try:
            context.load_verify_locations(cafile=config.tls_client_ca)
        except (ssl.SSLError, OSError):
            return f"--tls-client-ca {config.tls_client_ca}: not a PEM file of CA certificates"
    return None


def _cert_and_key_problem(cert: Path, key: Path, error: Exception) -> str:
    """Which of the certificate and key files ``ssl`` refused, and why."""
    if b"-----BEGIN CERTIFICATE-----" not in _head(cert):
        return f"--tls-cert {cert}: not a PEM certificate (want a file with -----BEGIN CERTIFICATE-----)"
    if b"PRIVATE KEY-----" not in _head(key):
        return f"--tls-key {key}: not a PEM private key (want a file with -----BEGIN ... PRIVATE KEY-----)"
    if "KEY_VALUES_MISMATCH" in str(error) or "key values mismatch" in str(error):
        return f"--tls-key {key} is not the private key of --tls-cert {cert}"
    return f"--tls-cert {cert} and --tls-key {key}: cannot be used for TLS ({getattr(error, 'reason', None) or error})"


def _head(path: Path) -> bytes:
    """The first 64 KiB of ``path`` (empty if unreadable): enough to find the PEM markers."""
    try:
        with path.open("rb") as file:
            return file.read(65536)
    except OSError:
        return b""


def bind_problem(config: ServerConfig) -> str | None:
    """Why the server cannot listen on its address, found by binding it with a plain socket; None if it can.

    gRPC raises "Failed to bind to address" whatever the cause (and its core
    logs a line of its own); the operating system's error number says
    which. The probe sets SO_REUSEADDR, as gRPC's listener does, so that a
    predecessor's connections in TIME_WAIT do not count; a socket
    listening on the port, or holding it for ``--workers``, does.
    """
    host, port = config.host.strip("[]"), config.port
    address = config.address
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror:
        return f"cannot listen on {address}: {host!r} is not an address or a host name of this machine (--host)"
    family, kind, proto, _, sockaddr = infos[0]
    try:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(sockaddr)
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            return f"cannot listen on {address}: another program is using port {port}; stop it or choose another --port"
        if error.errno == errno.EACCES:
            return f"cannot listen on {address}: port {port} needs privileges here; choose one above 1023 with --port"
        if error.errno == errno.EADDRNOTAVAIL:
            return f"cannot listen on {address}: no network interface of this machine has the address {host} (--host)"
        return f"cannot listen on {address}: {error.strerror}"
    return None


def refuse_address(config: ServerConfig) -> NoReturn:
    """Say in one line why the server cannot listen on its address, and exit 1."""
    print(f"idc-server: error: {bind_problem(config) or f'cannot listen on {config.address}'}", file=sys.stderr)
    sys.exit(1)


def main(argv: Sequence[str] | None = None) -> None:
    """Parse flags and IDC_* variables, then serve until SIGINT or SIGTERM; ``idc-server load ...`` loads files.

    A problem the operator must fix (a TLS file that is not what its flag
    says, a plugin that cannot be loaded, an address the server cannot
    listen on) is one line on stderr and exit status 2 (like a bad flag) or
    1, never a traceback.
    """
    arguments = sys.argv[1:] if argv is None else list(argv)
    if arguments[:1] == ["load"]:
        from idc_server.load import load_main

        sys.exit(load_main(arguments[1:]))
    config = load_config(arguments)
    setup_logging(config.log_level, config.log_format)
    problem = tls_problem(config)
    if problem is not None:
        print(f"idc-server: error: {problem}", file=sys.stderr)
        sys.exit(2)
    problem = bind_problem(config)  # before the server's imports, which take seconds, and before gRPC binds
    if problem is not None:
        print(f"idc-server: error: {problem}", file=sys.stderr)
        sys.exit(1)
    from idc_server.core.catalogue import CatalogueError, server_catalogue
    from idc_server.server import BindError, serve  # after parsing, so that --help stays instant

    try:
        server_catalogue(config.plugins)  # a bad plugin stops the server before it binds, named
    except CatalogueError as error:
        print(f"idc-server: error: {error}", file=sys.stderr)
        sys.exit(2)
    try:
        serve(config)
    except RuntimeError as error:  # grpcio's "Failed to bind to address ..."
        if "bind" not in str(error):
            raise
        refuse_address(config)
    except BindError:
        refuse_address(config)
    except OSError as error:
        if error.errno in (errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL):  # --workers binds a socket itself
            refuse_address(config)
        logging.getLogger("idc_server").error("%s", error)
        sys.exit(1)

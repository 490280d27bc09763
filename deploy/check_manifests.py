#!/usr/bin/env python3
"""Static checks of the deployment files: Dockerfile, .dockerignore and deploy/kubernetes/idc.yaml.

    python deploy/check_manifests.py

Prints each check and exits non-zero if any fails. Nothing here builds an
image or talks to a cluster: it reads the files and checks the properties the
deployment relies on, including that they agree with each other (user id,
ports, health service names) and with the repository (the proto's service
names, the server's IDC_* variables when idc-server is installed, the files
the build context must hold). Needs PyYAML for the Kubernetes manifest.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
MANIFEST = ROOT / "deploy" / "kubernetes" / "idc.yaml"

GRPC_PORT = 50051
MIB = 1024 * 1024
# Measured resident sizes (deploy/kubernetes/idc.yaml's resources comment).
RPC_PROCESS_BYTES = 230 * 1000 * 1000
FORK_SERVER_BYTES = 160 * 1000 * 1000
READINESS_SERVICE = "idc.v1.IndicatorService"


def shown(path: Path) -> str:
    """A path relative to the repository where it is inside it."""
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


# --- results --------------------------------------------------------------------------------------


@dataclass
class Report:
    """Collects check results and prints them as they come."""

    passed: int = 0
    failed: list[str] = field(default_factory=list)
    skipped: int = 0

    def check(self, ok: bool, what: str, detail: str = "") -> bool:
        """Record one check; ``detail`` is printed on failure."""
        if ok:
            self.passed += 1
            print(f"ok    {what}")
        else:
            self.failed.append(what)
            print(f"FAIL  {what}" + (f": {detail}" if detail else ""))
        return ok

    def skip(self, what: str, why: str) -> None:
        """Record a check that could not run here."""
        self.skipped += 1
        print(f"skip  {what}: {why}")

    def section(self, title: str) -> None:
        """Print a heading."""
        print(f"\n{title}")


# --- Dockerfile -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Instruction:
    """One Dockerfile instruction, continuation lines joined and comment lines dropped."""

    line: int
    keyword: str
    args: str


@dataclass
class Stage:
    """A FROM and the instructions under it."""

    image: str
    name: str
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        """Every instruction with this keyword, in order."""
        return [i for i in self.instructions if i.keyword == keyword]


def parse_dockerfile(text: str) -> tuple[dict[str, str], list[Stage]]:
    """The global ARG defaults and the stages of a Dockerfile."""
    instructions: list[Instruction] = []
    buffer: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if stripped.startswith("#") or (not stripped and not buffer):
            continue  # comments (and parser directives) may sit inside a continued instruction
        if not buffer:
            start = number
        if stripped.endswith("\\"):
            buffer.append(stripped[:-1])
            continue
        buffer.append(stripped)
        keyword, _, args = " ".join(buffer).strip().partition(" ")
        instructions.append(Instruction(start, keyword.upper(), args.strip()))
        buffer = []
    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    for instruction in instructions:
        if instruction.keyword == "FROM":
            words = instruction.args.split()
            words = [w for w in words if not w.startswith("--")]
            image = re.sub(r"\$\{?(\w+)\}?", lambda m: global_args.get(m.group(1), m.group(0)), words[0])
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else str(len(stages))
            stages.append(Stage(image, name))
        elif stages:
            stages[-1].instructions.append(instruction)
        elif instruction.keyword == "ARG":
            key, _, value = instruction.args.partition("=")
            global_args[key.strip()] = value.strip().strip('"')
    return global_args, stages


def env_values(stage: Stage) -> dict[str, str]:
    """The ENV assignments of a stage (KEY=VALUE form), quotes removed."""
    values: dict[str, str] = {}
    for instruction in stage.all("ENV"):
        for match in re.finditer(r'(\w+)=("[^"]*"|\S+)', instruction.args):
            values[match.group(1)] = match.group(2).strip('"')
    return values


def check_dockerfile(report: Report) -> dict[str, Any]:
    """Check the Dockerfile; return what the manifest checks compare with."""
    report.section(f"Dockerfile ({shown(DOCKERFILE)})")
    _, stages = parse_dockerfile(DOCKERFILE.read_text(encoding="utf-8"))
    facts: dict[str, Any] = {"uid": None, "ports": set(), "env": {}, "copies": []}
    if not report.check(len(stages) >= 2, "multi-stage build (at least two FROMs)", f"{len(stages)} stage(s)"):
        return facts
    for stage in stages:
        image = stage.image
        pinned = ("@sha256:" in image) or (":" in image.rsplit("/", 1)[-1] and not image.endswith(":latest"))
        report.check(pinned, f"stage {stage.name}: base image {image} is pinned by tag or digest")
    final = stages[-1]
    names = {stage.name for stage in stages}

    users = final.all("USER")
    user = users[-1].args.split(":")[0] if users else ""
    report.check(
        user.isdigit() and int(user) != 0,
        "final stage runs as a numeric non-root USER (Kubernetes can verify runAsNonRoot)",
        f"USER {user or '(none)'}",
    )
    facts["uid"] = int(user) if user.isdigit() else None
    useradd = " ".join(i.args for i in final.all("RUN") if "useradd" in i.args)
    report.check(
        bool(user) and f"--uid {user}" in useradd,
        f"final stage creates the user with UID {user} (a name in /etc/passwd, a home directory)",
    )

    copies = [i for i in final.all("COPY") + final.all("ADD") if "--from=" not in i.args]
    report.check(not copies, "final stage copies nothing from the build context (only the build stage's wheels)")
    installs = [i for i in final.all("RUN") if "pip install" in i.args]
    report.check(
        bool(installs) and all("--no-index" in i.args for i in installs),
        "final stage installs with pip --no-index (the pinned wheels, never a registry)",
    )
    report.check(
        any("from=" in i.args and "--mount=type=bind" in i.args for i in installs),
        "wheels are bind-mounted from the build stage, so they are not a layer of the image",
    )
    mounts = [re.search(r"from=([\w.-]+)", i.args) for i in installs]
    sources = [match[1] for match in mounts if match]
    report.check(bool(sources) and set(sources) <= names, f"the wheels come from an earlier stage {sources}")
    build_copies = [i for stage in stages[:-1] for i in stage.all("COPY")]
    facts["copies"] = [word for i in build_copies for word in i.args.split()[:-1] if not word.startswith("--")]
    build_runs = [i.args for stage in stages[:-1] for i in stage.all("RUN")]
    report.check(
        any("pip wheel" in run and "-c constraints.txt" in run for run in build_runs),
        "build stage builds wheels with the constraints.txt pins",
    )

    healthchecks = final.all("HEALTHCHECK")
    health = healthchecks[-1].args if healthchecks else ""
    report.check(
        "grpc_health" in health and "Check(" in health and "SERVING" in health,
        "HEALTHCHECK calls grpc.health.v1 Check and accepts only SERVING",
    )
    report.check(
        f"'{GRPC_PORT}'" in health and "IDC_PORT" in health,
        f"HEALTHCHECK targets IDC_PORT, default {GRPC_PORT}",
    )
    entrypoints = final.all("ENTRYPOINT")
    report.check(
        bool(entrypoints) and entrypoints[-1].args.replace(" ", "") == '["idc-server"]',
        'ENTRYPOINT ["idc-server"] in exec form (the server is PID 1 and gets SIGTERM itself)',
    )
    stop = final.all("STOPSIGNAL")
    report.check(bool(stop) and stop[-1].args == "SIGTERM", "STOPSIGNAL SIGTERM")
    ports = {int(p.split("/")[0]) for i in final.all("EXPOSE") for p in i.args.split()}
    facts["ports"] = ports
    env = env_values(final)
    facts["env"] = env
    metrics = int(env.get("IDC_METRICS_PORT", "0"))
    report.check(GRPC_PORT in ports, f"EXPOSE {GRPC_PORT} (gRPC)", f"exposed {sorted(ports)}")
    report.check(
        metrics != 0 and metrics in ports,
        f"IDC_METRICS_PORT={metrics} is set and exposed",
        f"exposed {sorted(ports)}",
    )
    mpl = env.get("MPLCONFIGDIR", "")
    home = env.get("HOME", "")
    report.check(
        bool(mpl) and bool(home) and mpl.startswith(home + "/"), f"MPLCONFIGDIR ({mpl}) is under HOME ({home})"
    )
    after_user = final.instructions[final.instructions.index(users[-1]) :] if users else []
    report.check(
        any(i.keyword == "RUN" and "matplotlib.font_manager" in i.args for i in after_user),
        "matplotlib's font cache is built at build time, after USER (so the server's user owns it)",
    )
    return facts


# --- .dockerignore --------------------------------------------------------------------------------


@dataclass(frozen=True)
class IgnorePattern:
    """One .dockerignore line, compiled as BuildKit's pattern matcher does."""

    regex: re.Pattern[str]
    exclusion: bool


def compile_ignore(text: str) -> list[IgnorePattern]:
    """The patterns of a .dockerignore file, in order."""
    patterns = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        exclusion = line.startswith("!")
        line = os.path.normpath(line.lstrip("!").strip()).lstrip("/")
        regex, i = "", 0
        while i < len(line):
            char = line[i]
            if line.startswith("**", i):
                i += 2
                if line.startswith("/", i):
                    i += 1
                regex += ".*" if i >= len(line) else "(.*/)?"
                continue
            if char == "*":
                regex += "[^/]*"
            elif char == "?":
                regex += "[^/]"
            elif char == "[":
                end = line.index("]", i)
                regex += line[i : end + 1]
                i = end
            elif char == "\\" and i + 1 < len(line):
                i += 1
                regex += re.escape(line[i])
            else:
                regex += re.escape(char)
            i += 1
        patterns.append(IgnorePattern(re.compile(f"^{regex}$"), exclusion))
    return patterns


def ignored(path: str, patterns: list[IgnorePattern]) -> bool:
    """Whether BuildKit leaves ``path`` (relative, with /) out of the context: the last matching pattern wins,
    and a pattern matching a parent directory matches the path."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    result = False
    for pattern in patterns:
        if any(pattern.regex.match(prefix) for prefix in prefixes):
            result = not pattern.exclusion
    return result


def repository_files() -> Iterator[str]:
    """Every file under the repository, relative, skipping the insides of big tool directories."""
    for directory, subdirs, files in os.walk(ROOT):
        relative = os.path.relpath(directory, ROOT)
        subdirs[:] = [d for d in subdirs if d not in {".git", ".nox", ".venv", "node_modules"}]
        for name in files:
            yield name if relative == "." else f"{relative}/{name}".replace(os.sep, "/")


def check_dockerignore(report: Report, copies: list[str]) -> None:
    """Check that the build context holds what the build needs and nothing it should not."""
    report.section(f".dockerignore ({shown(DOCKERIGNORE)})")
    patterns = compile_ignore(DOCKERIGNORE.read_text(encoding="utf-8"))
    must_exclude = [".git/HEAD", ".nox/x", ".mypy_cache/x", "clients/go/go.mod", "docs/x.md", "proto/x.proto"]
    must_exclude += ["clients/python/pyproject.toml", "clients/python/src/idc_client/cli.py"]
    must_exclude += [
        "python-server/tests/x.py",
        "python-proto/build/lib/x.py",
        "python-server/src/x.egg-info/PKG-INFO",
    ]
    must_exclude += ["python-server/src/idc_server/__pycache__/cli.cpython-311.pyc", "Dockerfile", "deploy/README.md"]
    leaked = [path for path in must_exclude if not ignored(path, patterns)]
    report.check(not leaked, "excludes .git, .nox, caches, clients, docs, proto, tests, build leftovers", str(leaked))

    files = sorted(repository_files())
    context = [path for path in files if not ignored(path, patterns)]
    size = sum((ROOT / path).stat().st_size for path in context)
    print(f"      build context: {len(context)} of {len(files)} files, {size / 1024:.0f} KiB")
    outside = sorted({path.split("/")[0] for path in context} - {"constraints.txt", "python-proto", "python-server"})
    report.check(not outside, "context holds only constraints.txt, python-proto and python-server", str(outside))
    for source in copies:
        report.check(
            any(path == source or path.startswith(source.rstrip("/") + "/") for path in context),
            f"Dockerfile COPY source {source} is in the context",
        )
    needed = [
        path
        for path in files
        if (path.startswith(("python-proto/src/", "python-server/src/")) and "/__pycache__/" not in path)
        and ".egg-info/" not in path
    ]
    needed += [
        f"{package}/{name}" for package in ("python-proto", "python-server") for name in ("pyproject.toml", "README.md")
    ]
    missing = [path for path in needed if ignored(path, patterns)]
    report.check(
        not missing and any(path.endswith(".csv") for path in needed),
        f"every package source file is in the context ({len(needed)} files, bundled CSV data included)",
        str(missing[:10]),
    )


# --- Kubernetes -----------------------------------------------------------------------------------


def proto_services() -> set[str]:
    """Full names of the services declared under proto/."""
    names = set()
    for proto in (ROOT / "proto").rglob("*.proto"):
        text = proto.read_text(encoding="utf-8")
        package = re.search(r"^package\s+([\w.]+)\s*;", text, re.MULTILINE)
        for service in re.findall(r"^service\s+(\w+)", text, re.MULTILINE):
            names.add(f"{package.group(1)}.{service}" if package else service)
    return names


def server_variables() -> set[str] | None:
    """The IDC_* variables that idc-server's --help names, or None when it is not installed here."""
    if importlib.util.find_spec("idc_server") is not None:
        command = [sys.executable, "-m", "idc_server", "--help"]
    elif executable := shutil.which("idc-server"):
        command = [executable, "--help"]
    else:
        return None
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDC_")}
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120, check=False)
    return set(re.findall(r"IDC_[A-Z0-9_]+", result.stdout)) if result.returncode == 0 else None


def dig(obj: Any, *keys: str | int) -> Any:
    """obj[k1][k2]..., or None where a level is missing."""
    for key in keys:
        if isinstance(obj, dict) and isinstance(key, str):
            obj = obj.get(key)
        elif isinstance(obj, list) and isinstance(key, int) and key < len(obj):
            obj = obj[key]
        else:
            return None
    return obj


def quantity(value: str | int | float) -> float:
    """A Kubernetes CPU or memory quantity as a number (cores or bytes)."""
    text = str(value)
    units = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}
    for suffix in sorted(units, key=len, reverse=True):
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * units[suffix]
    return float(text)


def check_manifest(report: Report, docker: dict[str, Any], load_all: Callable[[str], Iterator[Any]]) -> None:
    """Check the Kubernetes manifest."""
    report.section(f"Kubernetes ({shown(MANIFEST)})")
    documents = [d for d in load_all(MANIFEST.read_text(encoding="utf-8")) if d]
    kinds = [d.get("kind") for d in documents]
    listed = ", ".join(f"{d.get('kind')}/{dig(d, 'metadata', 'name')}" for d in documents)
    print(f"      documents: {listed}")
    deployments = [d for d in documents if d.get("kind") == "Deployment"]
    services = [d for d in documents if d.get("kind") == "Service"]
    report.check(len(deployments) == 1, "one Deployment", str(kinds))
    if not deployments:
        return
    deployment = deployments[0]
    spec = deployment["spec"]
    pod = dig(spec, "template", "spec") or {}
    labels = dig(spec, "template", "metadata", "labels") or {}
    report.check((spec.get("replicas") or 1) >= 2, f"replicas: {spec.get('replicas')} (more than one pod)")
    report.check(
        all(labels.get(k) == v for k, v in (dig(spec, "selector", "matchLabels") or {}).items()),
        "the Deployment's selector matches its pod labels",
    )
    containers = pod.get("containers") or []
    report.check(len(containers) == 1, "one container")
    if not containers:
        return
    container = containers[0]
    env = {e["name"]: e for e in container.get("env") or []}
    ports = {p.get("name"): p["containerPort"] for p in container.get("ports") or []}

    pod_security = pod.get("securityContext") or {}
    security = container.get("securityContext") or {}
    # A container's securityContext overrides the pod's.
    non_root = security.get("runAsNonRoot", pod_security.get("runAsNonRoot"))
    report.check(non_root is True, "runAsNonRoot: true")
    uid = security.get("runAsUser", pod_security.get("runAsUser"))
    report.check(uid == docker["uid"] and uid is not None, f"runAsUser {uid} is the image's USER {docker['uid']}")
    report.check(security.get("readOnlyRootFilesystem") is True, "readOnlyRootFilesystem: true")
    report.check(security.get("allowPrivilegeEscalation") is False, "allowPrivilegeEscalation: false")
    report.check("ALL" in (dig(security, "capabilities", "drop") or []), "capabilities: drop ALL")
    report.check(
        pod.get("enableServiceLinks") is False,
        "enableServiceLinks: false (else the Service `idc` injects IDC_PORT=tcp://..., which the server reads)",
    )

    liveness = container.get("livenessProbe") or {}
    readiness = container.get("readinessProbe") or {}
    other = {"exec", "httpGet", "tcpSocket"}
    report.check(
        dig(liveness, "grpc", "port") == GRPC_PORT
        and dig(liveness, "grpc", "service") in (None, "")
        and not other & liveness.keys(),
        f'livenessProbe is a grpc probe on {GRPC_PORT}, service ""',
        str(liveness),
    )
    report.check(
        dig(readiness, "grpc", "port") == GRPC_PORT
        and dig(readiness, "grpc", "service") == READINESS_SERVICE
        and not other & readiness.keys(),
        f"readinessProbe is a grpc probe on {GRPC_PORT}, service {READINESS_SERVICE}",
        str(readiness),
    )
    report.check(READINESS_SERVICE in proto_services(), f"{READINESS_SERVICE} is a service declared in proto/")
    report.check(ports.get("grpc") == GRPC_PORT, f"container port `grpc` is {GRPC_PORT}")
    report.check(
        set(ports.values()) <= docker["ports"], f"container ports {sorted(ports.values())} are EXPOSEd by the image"
    )

    annotations = dig(spec, "template", "metadata", "annotations") or {}
    metrics = env.get("IDC_METRICS_PORT", {}).get("value") or docker["env"].get("IDC_METRICS_PORT")
    report.check(
        annotations.get("prometheus.io/scrape") == "true"
        and annotations.get("prometheus.io/port") == str(metrics) == str(ports.get("metrics")),
        f"Prometheus scrape annotations point at the metrics port {metrics}",
    )
    workers = int(env.get("IDC_WORKERS", {}).get("value") or 1)
    report.check(workers == 1, "IDC_WORKERS is 1 (with more, each worker has its own metrics port)")

    pre_stop = dig(container, "lifecycle", "preStop") or {}
    sleep = dig(pre_stop, "sleep", "seconds")
    command = dig(pre_stop, "exec", "command") or []
    if sleep is None and len(command) == 2 and command[0] == "sleep":
        sleep = int(command[1])
    grace = float(env.get("IDC_GRACE_SECONDS", {}).get("value") or 5)
    termination = pod.get("terminationGracePeriodSeconds", 30)
    report.check(sleep is not None and sleep > 0, f"preStop sleeps ({sleep} s) so endpoints drain before SIGTERM")
    report.check(
        termination > (sleep or 0) + grace,
        f"terminationGracePeriodSeconds {termination} > preStop {sleep} s + IDC_GRACE_SECONDS {grace:g} s",
    )

    resources = container.get("resources") or {}
    complete = all(dig(resources, k, w) is not None for k in ("requests", "limits") for w in ("cpu", "memory"))
    report.check(complete, "cpu and memory requests and limits are set")
    if complete:
        report.check(
            all(quantity(resources["requests"][w]) <= quantity(resources["limits"][w]) for w in ("cpu", "memory")),
            f"requests {resources['requests']} <= limits {resources['limits']}",
        )

        render_workers = int(env.get("IDC_RENDER_WORKERS", {}).get("value") or 2)
        worker_bytes = int(env.get("IDC_RENDER_WORKER_MEMORY_BYTES", {}).get("value") or 512 * MIB)
        caches = 128 * MIB  # the render and indicator caches at their defaults
        messages = 128 * MIB  # a request and its reply at IDC_MAX_MESSAGE_BYTES' default
        # Bars held from a database or dataset (IDC_DATA_URL), in the RPC process; each render
        # worker's own are inside its memory bound.
        stores = int(env.get("IDC_STORE_CACHE_BYTES", {}).get("value") or 256 * MIB) if "IDC_DATA_URL" in env else 0
        bound = RPC_PROCESS_BYTES + FORK_SERVER_BYTES + render_workers * worker_bytes + caches + messages + stores
        limit = quantity(resources["limits"]["memory"])
        report.check(
            bound <= limit,
            f"the memory limit {resources['limits']['memory']} covers the process tree's bound of "
            f"{bound / MIB:.0f} MiB ({render_workers} render workers of {worker_bytes / MIB:.0f} MiB)",
        )

    mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts") or []}
    volumes = {v["name"]: v for v in pod.get("volumes") or []}
    report.check(set(mounts.values()) <= volumes.keys(), "every volumeMount has a volume")
    mpl = env.get("MPLCONFIGDIR", {}).get("value") or docker["env"].get("MPLCONFIGDIR", "")
    writable = [path for path, name in mounts.items() if "emptyDir" in volumes.get(name, {})]
    report.check(
        any(mpl == path or mpl.startswith(path.rstrip("/") + "/") for path in writable),
        f"MPLCONFIGDIR ({mpl}) is on a writable emptyDir {writable} (the root filesystem is read-only)",
    )
    report.check("/tmp" in writable, "/tmp is a writable emptyDir")
    secret_like = [name for name in env if re.search(r"TOKEN|SECRET|PASSWORD|_KEY$", name)]
    report.check(
        all("valueFrom" in env[name] and "value" not in env[name] for name in secret_like),
        f"secret variables {secret_like} come from Secrets, not literal values",
    )
    report.check(
        dig(env.get("IDC_AUTH_TOKENS", {}), "valueFrom", "secretKeyRef", "name") is not None,
        "IDC_AUTH_TOKENS comes from a secretKeyRef",
    )
    known = server_variables()
    ours = sorted(name for name in (*env, *docker["env"]) if name.startswith("IDC_"))
    if known is None:
        report.skip("every IDC_* variable is one the server reads", "idc-server is not installed here")
    else:
        unknown = sorted(set(ours) - known)
        what = f"every IDC_* variable set ({len(set(ours))}) is one that idc-server --help names"
        report.check(not unknown, what, str(unknown))

    report.check(len(services) >= 2, "two Services", str(kinds))
    headless = [s for s in services if dig(s, "spec", "clusterIP") == "None"]
    cluster_ip = [s for s in services if dig(s, "spec", "clusterIP") != "None"]
    report.check(len(headless) == 1, "a headless Service (clusterIP: None) for client-side round_robin")
    report.check(len(cluster_ip) == 1, "a ClusterIP Service for clients behind a proxy or mesh")
    for service in services:
        name = dig(service, "metadata", "name")
        selector = dig(service, "spec", "selector") or {}
        report.check(
            bool(selector) and all(labels.get(k) == v for k, v in selector.items()),
            f"Service {name} selects the Deployment's pods",
        )
        service_ports = dig(service, "spec", "ports") or []
        report.check(
            any(p.get("port") == GRPC_PORT for p in service_ports)
            and all(p.get("targetPort") in ports or p.get("targetPort") in ports.values() for p in service_ports),
            f"Service {name} serves port {GRPC_PORT} and targets container ports that exist",
        )
    if headless:
        report.check(
            not dig(headless[0], "spec", "publishNotReadyAddresses"),
            "the headless Service publishes only ready pods in DNS",
        )


# --- main -----------------------------------------------------------------------------------------


def main() -> int:
    """Run every check; 0 when all pass, 1 when one fails, 2 when PyYAML is missing."""
    report = Report()
    docker = check_dockerfile(report)
    check_dockerignore(report, docker["copies"])
    try:
        yaml = importlib.import_module("yaml")  # PyYAML: optional, only the manifest needs it
    except ImportError:
        print("\nPyYAML is needed for the Kubernetes checks: pip install pyyaml", file=sys.stderr)
        return 2
    check_manifest(report, docker, yaml.safe_load_all)
    skipped = f", {report.skipped} skipped" if report.skipped else ""
    print(f"\n{report.passed} passed, {len(report.failed)} failed{skipped}")
    for what in report.failed:
        print(f"  failed: {what}")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())

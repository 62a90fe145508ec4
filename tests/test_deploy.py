"""Deployment checks: lint the Dockerfile and .dockerignore, run the image's steps outside a container
(requirements satisfied; the CMD serves and passes the HEALTHCHECK), and build the image where a Docker
engine runs (elsewhere that one test says it was skipped and why)."""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement

from tests.conftest import ROOT
from tests.helpers import HAPROXY, free_port, haproxy_config, stop_server

SECRET_WORDS = re.compile(r"SECRET|TOKEN|PASSWORD|PASSWD|API_?KEY|CLIENT_ID|COOKIE", re.I)


def instructions(path: Path = ROOT / "Dockerfile") -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        word, _, rest = full.partition(" ")
        out.append((word.upper(), rest.strip()))
    assert not pending, "the Dockerfile ends inside a continued line"
    return out


def values(name: str) -> list[str]:
    return [args for word, args in instructions() if word == name]


def exec_form(args: str) -> list[str]:
    """A CMD/HEALTHCHECK CMD in exec (JSON) form, or shell form split like /bin/sh would."""
    args = args.strip()
    return list(json.loads(args)) if args.startswith("[") else shlex.split(args)


def ignore_patterns() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.strip().startswith("#")]


def ignored(rel: str) -> bool:
    """Whether .dockerignore keeps `rel` out of the build context (Go filepath.Match, ** for any depth)."""
    hit = False
    for pattern in ignore_patterns():
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").strip("/")
        candidates = [pattern]
        if pattern.startswith("**/"):
            candidates.append(pattern[3:])
        parts = rel.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        if any(fnmatch.fnmatchcase(p, c) for p in prefixes for c in candidates) or any(
            fnmatch.fnmatchcase(parts[i], c[3:]) for c in candidates if c.startswith("**/") for i in range(len(parts))
        ):
            hit = not negate
    return hit


def test_base_image_is_slim_python_311() -> None:
    froms = values("FROM")
    assert froms == ["python:3.11-slim"], froms


def test_runs_as_a_non_root_user() -> None:
    users = values("USER")
    assert users, "no USER: the container would run as root"
    final = users[-1].split(":")[0]
    assert final not in ("root", "0"), final
    created = " ".join(values("RUN"))
    assert re.search(rf"useradd\b.*\b{re.escape(final)}\b", created), f"user {final} is never created"
    order = [w for w, _ in instructions()]
    assert order.index("USER") > max(i for i, w in enumerate(order) if w == "RUN"), "a RUN after USER runs as root"


def test_healthcheck_exposes_port_and_store_volume() -> None:
    checks = values("HEALTHCHECK")
    assert len(checks) == 1 and "/_stcore/health" in checks[0]
    assert values("EXPOSE") == ["8501"]
    env = " ".join(values("ENV"))
    assert "PLANNER_DB=/data/planner.duckdb" in env
    assert any("/data" in v for v in values("VOLUME"))
    assert "chown planner:planner /data" in " ".join(values("RUN")), "the store volume must be writable by the user"
    cmd = exec_form(values("CMD")[-1])
    assert cmd[:4] == ["python", "-m", "streamlit", "run"] and "app.py" in cmd
    assert "--server.port=8501" in cmd and "--server.address=0.0.0.0" in cmd


def test_no_secrets_baked_into_the_image() -> None:
    for word, args in instructions():
        if word in ("ENV", "ARG", "LABEL"):
            names = re.findall(r"([A-Za-z_][A-Za-z0-9_]*)=", args) or [args.split()[0]]
            bad = [n for n in names if SECRET_WORDS.search(n)]
            assert not bad, f"{word} {args}: secrets must be mounted at run time, not built in"
        if word in ("COPY", "ADD"):
            assert "secrets" not in args.lower(), f"{word} {args}"
            assert not args.split()[0].startswith(("http://", "https://")), "no downloads in ADD"
    assert ignored(".streamlit/secrets.toml")
    assert ignored("data/planner.duckdb") and ignored("data/planner.duckdb.wal") and ignored("data/planner.duckdb.lock")
    assert ignored(".git/config") and ignored("planner/__pycache__/x.pyc")


def test_everything_the_app_needs_is_in_the_build_context() -> None:
    for word, args in instructions():
        if word == "COPY":
            parts = [p for p in args.split() if not p.startswith("--")]
            for src in parts[:-1]:
                assert (ROOT / src).exists(), f"COPY {src}: missing"
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    needed = [f for f in tracked.splitlines() if f.startswith(("app.py", "planner/", "ui/", "pages/", "data/"))]
    needed += ["requirements.txt", ".streamlit/config.toml"]
    assert "app.py" in needed and any(f.startswith("data/") for f in needed)
    assert [f for f in needed if ignored(f)] == []


# scripts/test-lowest leaves this out: it installs the lowest allowed versions (numpy 1.26.0, pandas 2.2.0, ...),
# which by design are not the pins of requirements.txt.
@pytest.mark.locks
def test_requirements_install_step_is_satisfied_here() -> None:
    """The image's `pip install -r requirements.txt`, checked against this environment's packages."""
    assert any("pip install" in r and "-r requirements.txt" in r for r in values("RUN"))
    problems = []
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        req = Requirement(text)
        if req.marker and not req.marker.evaluate():
            continue  # a package for another platform (the lock is universal)
        try:
            version = metadata.version(req.name)
        except metadata.PackageNotFoundError:
            problems.append(f"{req.name} not installed")
            continue
        if not req.specifier.contains(version, prereleases=True):
            problems.append(f"{req.name} {version} outside {req.specifier}")
        for extra in req.extras:  # streamlit[auth] needs Authlib
            for dep in metadata.requires(req.name) or []:
                dep_req = Requirement(dep)
                if dep_req.marker and dep_req.marker.evaluate({"extra": extra}):
                    try:
                        metadata.version(dep_req.name)
                    except metadata.PackageNotFoundError:
                        problems.append(f"{req.name}[{extra}] needs {dep_req.name}")
    assert problems == []


def test_server_settings_keep_xsrf_and_limit_uploads() -> None:
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["enableXsrfProtection"] is True
    assert config["server"]["enableWebsocketCompression"] is True  # a hosted map: 3.5 MB a view, 0.9 compressed
    assert config["server"]["maxUploadSize"] == 200
    assert config["client"]["showErrorDetails"] == "none"
    assert config["browser"]["gatherUsageStats"] is False
    example = tomllib.loads((ROOT / ".streamlit" / "secrets.toml.example").read_text())
    assert set(example["auth"]) >= {"redirect_uri", "cookie_secret", "client_id", "client_secret",
                                    "server_metadata_url"}  # fmt: skip
    assert example["auth"]["redirect_uri"].endswith("/oauth2callback")
    assert isinstance(example["planner"]["admins"], list)
    assert ".streamlit/secrets.toml" in (ROOT / ".gitignore").read_text().splitlines()


def test_image_cmd_serves_and_passes_its_healthcheck(tmp_path: Path) -> None:
    """Run the CMD as the image would (on a free loopback port, temp store), then the HEALTHCHECK command."""
    port = free_port()
    cmd = [
        a.replace("8501", str(port)).replace("0.0.0.0", "127.0.0.1") for a in exec_form(values("CMD")[-1])
    ]  # fmt: skip
    cmd[0] = sys.executable if cmd[0] == "python" else cmd[0]
    check_args = values("HEALTHCHECK")[0]
    check = exec_form(check_args[check_args.index("CMD") + 3 :])
    check = [sys.executable if a == "python" else a.replace("8501", str(port)) for a in check]
    store_path = tmp_path / "data" / "planner.duckdb"
    store_path.parent.mkdir()
    env = {**os.environ, "PLANNER_DB": str(store_path), "HOME": str(tmp_path)}
    log = tmp_path / "server.log"
    assert subprocess.run(check, capture_output=True, timeout=30).returncode != 0, "healthy before it started?"
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 90
        while time.time() < deadline:
            if subprocess.run(check, capture_output=True, timeout=30).returncode == 0:
                break
            assert proc.poll() is None, f"the CMD exited: {log.read_text()[-2000:]}"
            time.sleep(0.5)
        else:
            pytest.fail(f"the HEALTHCHECK never passed: {log.read_text()[-2000:]}")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as resp:
            assert resp.status == 200 and b"<html" in resp.read().lower()
        assert "permessage-deflate" in _websocket_extensions(port), "the app's messages are not compressed"
        # The store setting is the one the image sets: the CLI resolves the same file.
        out = subprocess.run([sys.executable, "-c", "from planner import settings; print(settings.db_path())"],
                             cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)  # fmt: skip
        assert out.stdout.strip() == str(store_path.resolve())
    finally:
        stop_server(proc)
    assert "Traceback" not in log.read_text()


def _websocket_extensions(port: int) -> str:
    """The extensions the app's websocket agrees to when a browser offers compression (its handshake's answer)."""
    request = (
        "GET /_stcore/stream HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: streamlit\r\n"
        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request.encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(4096)
            if not chunk:
                break
            head += chunk
    lines = head.decode("latin-1").split("\r\n")
    assert " 101 " in lines[0], lines[0]
    return " ".join(line for line in lines if line.lower().startswith("sec-websocket-extensions"))


def _docker_engine() -> str | None:
    """None when a Docker engine answers; otherwise why not (no client, or a client with no engine)."""
    try:
        res = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True,
                             timeout=20)  # fmt: skip
    except (FileNotFoundError, subprocess.TimeoutExpired) as exc:
        return f"no docker client ({type(exc).__name__})"
    return None if res.returncode == 0 and res.stdout.strip() else f"no Docker engine: {res.stderr.strip()[:200]}"


def test_image_builds_where_docker_runs() -> None:
    why = _docker_engine()
    if why is not None:
        pytest.skip(f"image not built: {why}; the steps above ran the image's commands outside a container")
    tag = f"territory-planner-test:{os.getpid()}"
    res = subprocess.run(["docker", "build", "-q", "-t", tag, "."], cwd=ROOT, capture_output=True, text=True,
                         timeout=1200)  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    try:
        out = subprocess.run(["docker", "run", "--rm", "--entrypoint", "planner", tag, "--help"], capture_output=True,
                             text=True, timeout=120)  # fmt: skip
        assert out.returncode == 0 and "import" in out.stdout, out.stderr[-2000:]
    finally:
        subprocess.run(["docker", "rmi", "-f", tag], capture_output=True, timeout=120)


# ---- the team stack: deploy/compose.yaml and its load balancer (issue 19 point 7) ----------------------

DEPLOY = ROOT / "deploy"


def compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def test_compose_runs_postgres_two_replicas_and_a_load_balancer() -> None:
    spec = compose()
    services = spec["services"]
    assert set(services) == {"postgres", "app1", "app2", "lb"}
    apps = [services["app1"], services["app2"]]
    for app in apps:
        assert (DEPLOY / app["build"]["context"] / app["build"]["dockerfile"]).resolve() == ROOT / "Dockerfile"
        env = app["environment"]
        assert env["PLANNER_DB"].startswith("ducklake:postgres:")
        attach = dict(part.split("=", 1) for part in env["PLANNER_DB"].removeprefix("ducklake:postgres:").split())
        assert attach["host"] == "postgres" and attach["dbname"] == spec["services"]["postgres"]["environment"][
            "POSTGRES_DB"] and attach["user"] == services["postgres"]["environment"]["POSTGRES_USER"]  # fmt: skip
        assert "password" not in attach, "the catalog password must come from a secret, not the attach string"
        assert app["depends_on"]["postgres"]["condition"] == "service_healthy"
        # The image's server command, unchanged but for the password read from the secret file.
        command = " ".join(app["command"])
        server_args = exec_form(values("CMD")[-1])
        assert " ".join(server_args) in command and "/run/secrets/pg_password" in command
    assert apps[0] == apps[1], "the replicas must be configured identically"
    assert services["postgres"]["image"].startswith("postgres:")
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])


def test_replicas_share_the_lake_volume_and_the_cookie_secret() -> None:
    spec = compose()
    apps = [spec["services"]["app1"], spec["services"]["app2"]]
    lake_data = apps[0]["environment"]["PLANNER_LAKE_DATA"]
    for app in apps:
        mounts = {m.split(":")[1]: m.split(":")[0] for m in app["volumes"]}
        # The lake's data path is inside a named volume every replica mounts.
        mounted_at = [target for target in mounts if lake_data == target or lake_data.startswith(target + "/")]
        assert mounted_at and mounts[mounted_at[0]] in spec["volumes"], app["volumes"]
        # The image's /data belongs to the app user, so a fresh volume mounted there is writable by it.
        assert mounted_at[0] == "/data"
        secret_files = {s["target"]: s["source"] for s in app["secrets"] if isinstance(s, dict)}
        assert secret_files["/app/.streamlit/secrets.toml"] == "planner_secrets"
    assert spec["secrets"]["planner_secrets"]["file"] == "./secrets/secrets.toml"


def test_no_secret_is_written_in_the_stack() -> None:
    """Secrets are files under deploy/secrets/ (never committed, never in the image), not values in the YAML."""
    spec = compose()
    for name, service in spec["services"].items():
        for key, value in service.get("environment", {}).items():
            if SECRET_WORDS.search(key):
                assert key.endswith("_FILE") and str(value).startswith("/run/secrets/"), f"{name}: {key} inline"
            assert "password=" not in str(value).lower(), f"{name}: {key} holds a password"
    for secret in spec["secrets"].values():
        path = (DEPLOY / secret["file"]).resolve()
        assert path.is_relative_to(DEPLOY / "secrets") and "example" not in path.name
        rel = path.relative_to(ROOT).as_posix()
        assert ignored(rel), f"{rel} would be in the image"
        tracked = subprocess.run(["git", "check-ignore", "-q", rel], cwd=ROOT).returncode
        assert tracked == 0, f"{rel} is not git-ignored"
    text = (DEPLOY / "compose.yaml").read_text().replace("POSTGRES_PASSWORD_FILE: /run/secrets/pg_password", "")
    # A password may only be read from a mounted secret file when the container starts.
    inline = r'(?i)(cookie_secret|client_secret|password)[ \t]*[:=][ \t]*(?!"\$\$\(cat /run/secrets/)\S'
    assert not re.search(inline, text)


def test_load_balancer_has_cookie_affinity_for_each_replica() -> None:
    spec = compose()
    lb = spec["services"]["lb"]
    assert "./haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro" in lb["volumes"]
    config = haproxy_config()
    assert re.search(r"^\s*cookie planner_replica insert indirect nocache", config, re.M)
    servers = re.findall(r"^\s*server (\S+) (\S+):(\d+) .*cookie (\S+)", config, re.M)
    assert sorted((host, port) for _, host, port, _ in servers) == [("app1", "8501"), ("app2", "8501")]
    assert len({cookie for *_, cookie in servers}) == 2, "each replica needs its own cookie value"
    assert "option httpchk GET /_stcore/health" in config
    assert re.search(r"^\s*timeout tunnel \d+h", config, re.M), "websockets need a long tunnel timeout"
    published = lb["ports"][0].split(":")[-1]
    assert re.search(rf"^\s*bind :{published}\b", config, re.M)
    checked = subprocess.run([HAPROXY, "-c", "-f", str(DEPLOY / "haproxy.cfg")], capture_output=True, text=True)
    assert "Configuration file is valid" in checked.stdout + checked.stderr, checked.stderr[-2000:]
    # This haproxy.cfg runs in front of two app processes on one lake in tests/test_lake_processes.py's replicas
    # test (the processes that test starts anyway): a browser's cookie keeps it on its replica, and a Streamlit
    # session runs through it over the websocket.

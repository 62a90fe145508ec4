# Sourced by scripts/run and scripts/test: pick a Python environment and install the pinned packages.
#
# Uses the active virtual environment ($VIRTUAL_ENV) when there is one; otherwise creates and uses the
# project's own .venv, so nothing is installed into a system Python (Debian and Ubuntu refuse that).
# Installs from a generated lock file (scripts/lock), once per change of that file: later runs start at once.

venv_python() {
    if [ -n "${VIRTUAL_ENV:-}" ] && [ -x "$VIRTUAL_ENV/bin/python" ]; then
        PY="$VIRTUAL_ENV/bin/python"
        return
    fi
    if [ ! -x .venv/bin/python ]; then
        echo "==> creating the project virtual environment in .venv"
        if ! python3 -m venv .venv; then
            echo "error: python3 cannot create a virtual environment; install it (Debian/Ubuntu: apt-get install python3-venv) and retry" >&2
            exit 2
        fi
    fi
    PY="$PWD/.venv/bin/python"
    export VIRTUAL_ENV="$PWD/.venv"
    export PATH="$VIRTUAL_ENV/bin:$PATH"
}

install_locked() {  # install_locked LOCKFILE: exact versions, then the project itself (editable, no deps)
    local lock="$1"
    local stamp
    stamp="$(dirname "$PY")/../.installed-$(cat "$lock" pyproject.toml | sha256sum | cut -c1-16)"
    if [ -f "$stamp" ]; then
        return
    fi
    echo "==> installing the pinned packages of $lock into $(cd "$(dirname "$PY")/.." && pwd) (first run: a minute or two)"
    local log status
    log="$(mktemp)"
    set +e
    "$PY" -m pip install --disable-pip-version-check --progress-bar off -r "$lock" 2>&1 | tee "$log" \
        | grep --line-buffered -E '^(Collecting|Installing|Successfully)'
    status=${PIPESTATUS[0]}
    set -e
    if [ "$status" -ne 0 ]; then
        grep -v '^WARNING: Location' "$log" | tail -n 20 >&2
        echo "error: installing $lock failed (see above); check the network to the package registry and retry" >&2
        exit 2
    fi
    rm -f "$log"
    echo "==> installing the planner package (editable) and its 'planner' command"
    "$PY" -m pip install --disable-pip-version-check --quiet --no-deps --no-build-isolation -e . 2>/dev/null \
        || "$PY" -m pip install --disable-pip-version-check --quiet --no-deps -e .
    rm -f "$(dirname "$PY")"/../.installed-*
    touch "$stamp"
    echo "==> packages ready"
}

as_root() {  # run a command as root: directly, or through sudo
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

apt_install() {  # apt_install PACKAGE...: Debian packages, once
    echo "==> installing Debian packages: $*"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}

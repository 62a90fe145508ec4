# Territory Planner dashboard. Build: docker build -t territory-planner .
# Run:   docker run -p 8501:8501 -v planner-data:/data \
#          -v "$PWD/.streamlit/secrets.toml:/app/.streamlit/secrets.toml:ro" territory-planner
# The store lives on the /data volume (PLANNER_DB); secrets are mounted at run time, never built in.
# Fail-closed: the server listens on 0.0.0.0, so without a mounted secrets.toml holding a complete [auth]
# every page is a configuration error page and no data is served (open local mode needs 127.0.0.1).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PLANNER_DB=/data/planner.duckdb

RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin planner \
    && mkdir -p /data \
    && chown planner:planner /data

WORKDIR /app
# Exact versions from the generated lock (scripts/lock), then the package itself for the `planner` command.
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt

COPY --chown=planner:planner . ./
RUN pip install --no-cache-dir --no-deps . && rm -rf build *.egg-info

USER planner
VOLUME ["/data"]
EXPOSE 8501

HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; r = urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4); sys.exit(0 if r.read().strip() == b'ok' else 1)"]

CMD ["python", "-m", "streamlit", "run", "app.py", "--server.address=0.0.0.0", "--server.port=8501", "--server.headless=true"]

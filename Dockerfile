# syntax=docker/dockerfile:1
# kubewhy in the cluster: `k8sbot`, the Slack bot and the watchers in one process (helm/kubewhy runs it).
# The first stage builds kubewhy's wheel and collects the wheels of its dependencies; the final image installs only
# those wheels (not an editable checkout), so it holds what `pip install kubewhy` would, and no compilers.
# Kubernetes probes /healthz and /readyz on port 8080 (the chart): no HEALTHCHECK here.

FROM python:3.11-slim AS build
WORKDIR /src
COPY . .
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/home/kubewhy \
    XDG_DATA_HOME=/data \
    XDG_CACHE_HOME=/tmp/cache
RUN groupadd --gid 10001 kubewhy \
    && useradd --create-home --home-dir /home/kubewhy --uid 10001 --gid 10001 --shell /usr/sbin/nologin kubewhy \
    && mkdir /data \
    && chown 10001:10001 /data
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links=/wheels /wheels/kubewhy-*.whl
USER 10001:10001
WORKDIR /home/kubewhy
# 3000: Slack's requests in HTTP mode; 8080: /healthz, /readyz and /metrics (KUBEWHY_HEALTH_PORT).
EXPOSE 3000 8080
ENTRYPOINT ["k8sbot"]

# syntax=docker/dockerfile:1
# kubewhy: the CLI, the simulator and (later) the bot and watchers in one image.
# The first stage builds kubewhy's wheel and fetches the wheels of its dependencies; the final image installs
# only those wheels (not an editable checkout), so it contains what `pip install kubewhy` would, and no compilers.

FROM python:3.11-slim AS build
WORKDIR /src
COPY . .
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
RUN groupadd --gid 10001 kubewhy && useradd --create-home --uid 10001 --gid 10001 kubewhy
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links=/wheels /wheels/kubewhy-*.whl
USER 10001:10001
WORKDIR /home/kubewhy
ENTRYPOINT ["kubewhy"]
CMD ["--help"]

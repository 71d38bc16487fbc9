# kubewhy: the CLI, the simulator and (later) the bot and watchers in one image.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY kubewhy ./kubewhy
COPY kubesim ./kubesim
COPY bot ./bot
COPY tui ./tui
COPY playbooks ./playbooks
COPY migrations ./migrations
RUN pip install --no-cache-dir -e . && useradd --create-home --uid 10001 kubewhy
ENV KUBEWHY_BUNDLED_PLAYBOOKS=/app/playbooks
USER kubewhy
ENTRYPOINT ["kubewhy"]
CMD ["--help"]

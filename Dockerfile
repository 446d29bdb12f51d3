# Flare on Cloud Run: a slim image, non-root, `flare serve` on $PORT.
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY requirements ./requirements
COPY bot ./bot
COPY handlers ./handlers
COPY runbooks ./runbooks
COPY migrations ./migrations
# Exactly the locked versions, each file checked against its hash; then Flare itself, adding nothing.
RUN python -m venv /opt/flare \
 && /opt/flare/bin/pip install --require-hashes -r requirements/runtime.txt \
 && /opt/flare/bin/pip install --no-deps .

FROM python:3.11-slim
RUN groupadd --system --gid 10001 flare \
 && useradd --system --uid 10001 --gid flare --home-dir /app --create-home flare
COPY --from=build /opt/flare /opt/flare
ENV PATH=/opt/flare/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PORT=8080 \
    FLARE_CONFIG=/etc/flare/flare.yaml
WORKDIR /app
USER flare
EXPOSE 8080
# Exec form: flare is PID 1 and receives SIGTERM directly (it drains and exits within 8 s).
CMD ["flare", "serve"]

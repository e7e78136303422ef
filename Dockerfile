# syntax=docker/dockerfile:1.7
# AgentCore Runtime runs ARM64 images: build with
#   docker buildx build --platform linux/arm64 -t my-mcp-server .
# The server listens on 0.0.0.0:8000/mcp, stateless, as the AgentCore contract asks.
ARG PLATFORM=linux/arm64
ARG PYTHON_VERSION=3.11

FROM --platform=${PLATFORM} ghcr.io/astral-sh/uv:0.9 AS uv

FROM --platform=${PLATFORM} python:${PYTHON_VERSION}-slim AS build
COPY --from=uv /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never
WORKDIR /app
# Your server spec, `module:attribute` (empty: the sample tools):
#   --build-arg MCP_SERVER=myproject.server:mcp
ARG MCP_SERVER=""
# The server kit, plus NAME_SECRET_ID resolution and the sample's web_search
# (docs/packaging.md); the CLI only for the build step below.
ARG EXTRAS="--extra secrets --extra web-search"
# Dependencies first, so code edits don't invalidate the dependency layer.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --locked --no-dev --no-install-project ${EXTRAS} --extra cli
COPY src ./src
RUN uv sync --locked --no-dev --no-editable ${EXTRAS} --extra cli
# The startup manifest: the server's initialize/tools/list answers, recorded now so that a
# cold start answers them while the mcp SDK is still loading (`agentcore-mcp manifest --help`).
# Recorded with the same packages and paths the image runs, so it matches at start.
ENV MCP_SERVER=${MCP_SERVER}
RUN /app/.venv/bin/agentcore-mcp manifest ${MCP_SERVER} --output /app/.agentcore-mcp/manifest.json
# The image carries only what the server runs: uv sync is exact, so this drops the CLI again.
RUN uv sync --locked --no-dev --no-editable ${EXTRAS}

FROM --platform=${PLATFORM} python:${PYTHON_VERSION}-slim
# The same server spec as above (each stage declares the build args it reads).
ARG MCP_SERVER=""
RUN groupadd --system --gid 1000 app && useradd --system --uid 1000 --gid app --no-create-home app
COPY --from=build --chown=app:app /app/.venv /app/.venv
COPY --from=build /app/.agentcore-mcp /app/.agentcore-mcp
ENV PATH="/app/.venv/bin:$PATH" PYTHONUNBUFFERED=1 HOST=0.0.0.0 PORT=8000 MCP_PATH=/mcp \
    MCP_SERVER=${MCP_SERVER} MCP_STARTUP_MANIFEST=/app/.agentcore-mcp/manifest.json
WORKDIR /app
USER app
EXPOSE 8000
# The lean entry point: `agentcore-mcp serve` without the CLI stack, for the fastest cold start.
ENTRYPOINT ["python", "-m", "agentcore_mcp.server"]

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
# Dependencies first, so code edits don't invalidate the dependency layer.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --locked --no-dev --no-install-project
COPY src ./src
RUN uv sync --locked --no-dev --no-editable

FROM --platform=${PLATFORM} python:${PYTHON_VERSION}-slim
# Your server, as `module:attribute` (empty: the sample tools).
ARG MCP_APP=""
RUN groupadd --system --gid 1000 app && useradd --system --uid 1000 --gid app --no-create-home app
COPY --from=build --chown=app:app /app/.venv /app/.venv
ENV PATH="/app/.venv/bin:$PATH" PYTHONUNBUFFERED=1 HOST=0.0.0.0 PORT=8000 MCP_PATH=/mcp \
    MCP_APP=${MCP_APP} MCP_STARTUP_MANIFEST=/app/.agentcore-mcp/manifest.json
WORKDIR /app
# The startup manifest: the server's initialize/tools/list answers, recorded now so that a
# cold start answers them while the mcp SDK is still loading (`agentcore-mcp manifest --help`).
RUN agentcore-mcp manifest ${MCP_APP} --output /app/.agentcore-mcp/manifest.json
USER app
EXPOSE 8000
# The lean entry point: `agentcore-mcp serve` without the CLI stack, for the fastest cold start.
ENTRYPOINT ["python", "-m", "agentcore_mcp.server"]

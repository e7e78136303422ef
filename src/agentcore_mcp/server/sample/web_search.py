"""`web_search(query)`: OpenAI's Responses API with its hosted web_search tool.

Needs the `[web-search]` extra (openai); the sample server leaves the tool out without it.

Settings (environment):
- OPENAI_API_KEY, or OPENAI_API_KEY_SECRET_ID naming a Secrets Manager secret whose
  value is the key or a JSON object with an OPENAI_API_KEY field (read at server start
  by `agentcore_mcp.server.secrets`, then per call for rotation; `[secrets]` extra). On
  AgentCore, use the secret so that no key sits in plain text in the runtime's environment.
- OPENAI_WEB_SEARCH_MODEL (default `gpt-5-mini`), OPENAI_TIMEOUT_SECONDS (default 120),
  OPENAI_MAX_RETRIES (default 2), and the SDK's own OPENAI_BASE_URL.

Every failure (no key, 401, 429, timeout, connection error) becomes a tool error
(`isError: true`) with a message saying what to do; none escapes to the transport.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from agentcore_mcp.server import secrets

if TYPE_CHECKING:
    from openai import AsyncOpenAI

DEFAULT_MODEL = "gpt-5-mini"
INSTRUCTIONS = (
    "You are a research assistant. Always use the web_search tool to answer, "
    "and base the answer on what the search returned. Be concise and factual."
)
# Models that take `reasoning.effort`; sending it to others is a 400 from the API.
_REASONING_PREFIXES = ("o1", "o3", "o4", "gpt-5")
KEY_NAME = "OPENAI_API_KEY"


def supports_reasoning(model: str) -> bool:
    return model.startswith(_REASONING_PREFIXES)


@dataclass(frozen=True, slots=True)
class SearchAnswer:
    """The answer text and the URLs the model cited, in order, without duplicates."""

    text: str
    citations: tuple[str, ...]

    def render(self) -> str:
        if not self.citations:
            return self.text
        sources = "\n".join(f"- {url}" for url in self.citations)
        return f"{self.text}\n\nSources:\n{sources}"


class ApiKeyUnavailable(Exception):
    """Neither OPENAI_API_KEY nor a readable OPENAI_API_KEY_SECRET_ID."""


def resolve_api_key(env: dict[str, str] | None = None) -> str:
    """The key for this call: OPENAI_API_KEY, or the secret OPENAI_API_KEY_SECRET_ID names.

    The server start fills OPENAI_API_KEY from the secret (`agentcore_mcp.server.secrets`);
    a key it filled is re-read from the secret on each call, so a rotated key is picked
    up without a restart. A key set in the environment by hand wins over the secret.
    """
    e = os.environ if env is None else env
    key = e.get(KEY_NAME, "").strip()
    filled = secrets.filled_from(KEY_NAME) if env is None else None
    if key and filled is None:
        return key
    secret_id = filled or e.get(KEY_NAME + secrets.SUFFIX, "").strip()
    if not secret_id:
        raise ApiKeyUnavailable(
            "No OpenAI API key: set OPENAI_API_KEY, or OPENAI_API_KEY_SECRET_ID to the "
            "name or ARN of a Secrets Manager secret holding the key."
        )
    try:
        return secrets.read_secret(secret_id, KEY_NAME, environ=e)
    except secrets.SecretResolutionError as exc:
        raise ApiKeyUnavailable(str(exc)) from exc


def extract_answer(response: Any) -> SearchAnswer:
    """Answer text and `url_citation` annotations from a Responses API result."""
    texts: list[str] = []
    urls: list[str] = []
    for item in getattr(response, "output", None) or []:
        if getattr(item, "type", None) != "message":
            continue
        for part in getattr(item, "content", None) or []:
            if getattr(part, "type", None) != "output_text":
                continue
            texts.append(part.text)
            for note in getattr(part, "annotations", None) or []:
                url = getattr(note, "url", None)
                if getattr(note, "type", None) == "url_citation" and url and url not in urls:
                    urls.append(url)
    return SearchAnswer(text="\n".join(texts).strip(), citations=tuple(urls))


@dataclass
class WebSearch:
    """Holds one AsyncOpenAI client per key, so connections are reused across calls."""

    model: str = field(
        default_factory=lambda: os.environ.get("OPENAI_WEB_SEARCH_MODEL", DEFAULT_MODEL)
    )
    timeout_seconds: float = field(
        default_factory=lambda: float(os.environ.get("OPENAI_TIMEOUT_SECONDS", "120"))
    )
    max_retries: int = field(default_factory=lambda: int(os.environ.get("OPENAI_MAX_RETRIES", "2")))
    _clients: dict[str, AsyncOpenAI] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def client(self, api_key: str) -> AsyncOpenAI:
        from openai import AsyncOpenAI

        with self._lock:
            found = self._clients.get(api_key)
            if found is None:
                found = AsyncOpenAI(
                    api_key=api_key, timeout=self.timeout_seconds, max_retries=self.max_retries
                )
                self._clients = {api_key: found}  # a rotated key replaces the old client
            return found

    async def search(self, query: str) -> SearchAnswer:
        import openai

        if not query.strip():
            raise ToolError("query must not be empty")
        try:
            # In a worker thread: reading a secret is blocking network I/O, and on the event
            # loop it would stall every other request the server is handling meanwhile.
            api_key = await anyio.to_thread.run_sync(resolve_api_key)
        except ApiKeyUnavailable as exc:
            raise ToolError(str(exc)) from exc
        request: dict[str, Any] = {
            "model": self.model,
            "input": query,
            "instructions": INSTRUCTIONS,
            "tools": [{"type": "web_search"}],
        }
        if supports_reasoning(self.model):
            request["reasoning"] = {"effort": "low"}
        try:
            response = await self.client(api_key).responses.create(**request)
        except openai.AuthenticationError as exc:
            raise ToolError(
                "OpenAI rejected the API key (401). Check OPENAI_API_KEY or the secret "
                "named by OPENAI_API_KEY_SECRET_ID."
            ) from exc
        except openai.RateLimitError as exc:
            raise ToolError(
                "OpenAI rate limit or quota exceeded (429). Retry later, or check the "
                "account's usage limits."
            ) from exc
        except openai.APITimeoutError as exc:
            raise ToolError(
                f"OpenAI did not answer within {self.timeout_seconds:g} s. Retry, or raise "
                "OPENAI_TIMEOUT_SECONDS."
            ) from exc
        except openai.APIConnectionError as exc:
            raise ToolError(f"Cannot reach the OpenAI API: {exc}") from exc
        except openai.APIStatusError as exc:
            raise ToolError(f"OpenAI API error {exc.status_code}: {exc.message}") from exc
        except (openai.OpenAIError, ValueError) as exc:
            # e.g. a 200 whose body is not valid JSON (a proxy cut it short): without this
            # the client would see only a bare "Error executing tool web_search".
            raise ToolError(
                f"OpenAI returned a response that could not be read ({type(exc).__name__}: "
                f"{exc}). Retry; if it persists, check that OPENAI_BASE_URL points at the "
                "OpenAI API."
            ) from exc
        answer = extract_answer(response)
        if not answer.text:
            raise ToolError("OpenAI returned no answer text for this query.")
        return answer


def register_web_search(mcp: MCPServer, searcher: WebSearch | None = None) -> None:
    """Add the `web_search` tool to a server."""
    holder = searcher or WebSearch()

    @mcp.tool()
    async def web_search(query: str) -> str:
        """Search the web with OpenAI and return the answer with its cited URLs."""
        return (await holder.search(query)).render()

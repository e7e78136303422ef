"""The server the official MCP conformance suite expects, served through our kit.

Test-only: every tool, resource and prompt here has the exact name and behaviour a
server scenario of `@modelcontextprotocol/conformance` asks for (see the scenario
descriptions printed by `conformance list --server` and the bundled sources). Served as

    python -m agentcore_mcp serve tests.conformance.conformance_app:build

Features that need a server-to-client back channel (handshake-era sampling, elicitation,
SSE stream reconnection) are implemented the way an ordinary stateful server would;
on our stateless transport they fail, which `expected-failures.yml` records.
"""

from __future__ import annotations

import base64
import io
import json
import wave
from typing import Annotated, Any

import anyio
from mcp.server.context import ServerRequestContext
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.prompts.base import Prompt, UserMessage
from mcp.shared.exceptions import MCPError
from mcp_types import (
    MISSING_REQUIRED_CLIENT_CAPABILITY,
    AudioContent,
    CallToolResult,
    ClientCapabilities,
    CompleteRequestParams,
    CompleteResult,
    Completion,
    CreateMessageRequest,
    CreateMessageRequestParams,
    CreateMessageResult,
    ElicitRequest,
    ElicitRequestFormParams,
    ElicitResult,
    EmbeddedResource,
    EmptyResult,
    ImageContent,
    InputRequests,
    InputRequiredResult,
    ListRootsRequest,
    ListRootsResult,
    MissingRequiredClientCapabilityErrorData,
    SamplingCapability,
    SamplingMessage,
    SetLevelRequestParams,
    SubscribeRequestParams,
    TextContent,
    TextResourceContents,
    UnsubscribeRequestParams,
)
from pydantic import Field

from agentcore_mcp.server import sdk_compat

SERVER_NAME = "agentcore-mcp-conformance"

# A 1x1 red PNG.
RED_PIXEL_PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5E"
    "rkJggg=="
)


def _silent_wav() -> str:
    """A tiny valid WAV file (10 ms of silence, 8 kHz mono 8-bit), base64-encoded."""
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(1)
        w.setframerate(8000)
        w.writeframes(b"\x80" * 80)
    return base64.b64encode(buf.getvalue()).decode()


SILENT_WAV = _silent_wav()

# The inputSchema the json-schema-2020-12 scenario looks for, keyword for keyword.
JSON_SCHEMA_2020_12_INPUT: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "$defs": {
        "address": {
            "$anchor": "addressDef",
            "type": "object",
            "properties": {"street": {"type": "string"}, "city": {"type": "string"}},
        }
    },
    "properties": {
        "name": {"type": "string"},
        "address": {"$ref": "#/$defs/address"},
        "contactMethod": {"type": "string", "enum": ["phone", "email"]},
        "phone": {"type": "string"},
        "email": {"type": "string"},
    },
    "allOf": [{"anyOf": [{"required": ["phone"]}, {"required": ["email"]}]}],
    "if": {"properties": {"contactMethod": {"const": "phone"}}, "required": ["contactMethod"]},
    "then": {"required": ["phone"]},
    "else": {"required": ["email"]},
    "additionalProperties": False,
}


def _elicit(message: str, properties: dict[str, Any], required: list[str]) -> ElicitRequest:
    return ElicitRequest(
        params=ElicitRequestFormParams(
            message=message,
            requested_schema={"type": "object", "properties": properties, "required": required},
        )
    )


def _sample(text: str, max_tokens: int) -> CreateMessageRequest:
    return CreateMessageRequest(
        params=CreateMessageRequestParams(
            messages=[SamplingMessage(role="user", content=TextContent(type="text", text=text))],
            max_tokens=max_tokens,
        )
    )


def _missing(ctx: Context, keys: list[str]) -> list[str]:
    """The keys of `keys` the client has not answered on this round."""
    responses = ctx.input_responses or {}
    return [k for k in keys if k not in responses]


def _register_content_tools(mcp: MCPServer) -> None:
    @mcp.tool(description="Returns a simple text response")
    def test_simple_text() -> str:
        return "This is a simple text response for testing."

    @mcp.tool(description="Returns a 1x1 red PNG image")
    def test_image_content() -> ImageContent:
        return ImageContent(type="image", data=RED_PIXEL_PNG, mime_type="image/png")

    @mcp.tool(description="Returns a short WAV audio clip")
    def test_audio_content() -> AudioContent:
        return AudioContent(type="audio", data=SILENT_WAV, mime_type="audio/wav")

    @mcp.tool(description="Returns an embedded text resource")
    def test_embedded_resource() -> EmbeddedResource:
        return EmbeddedResource(
            type="resource",
            resource=TextResourceContents(
                uri="test://embedded-resource",
                mime_type="text/plain",
                text="This is an embedded resource content.",
            ),
        )

    @mcp.tool(description="Returns text, image and embedded resource content together")
    def test_multiple_content_types() -> CallToolResult:
        return CallToolResult(
            content=[
                TextContent(type="text", text="Multiple content types test:"),
                ImageContent(type="image", data=RED_PIXEL_PNG, mime_type="image/png"),
                EmbeddedResource(
                    type="resource",
                    resource=TextResourceContents(
                        uri="test://mixed-content-resource",
                        mime_type="application/json",
                        text=json.dumps({"test": "data", "value": 123}),
                    ),
                ),
            ]
        )

    @mcp.tool(description="Always fails with an error result")
    def test_error_handling() -> str:
        raise ToolError("This tool intentionally returns an error for testing")

    @mcp.tool(description="Sends three info log notifications while it runs")
    async def test_tool_with_logging(ctx: Context) -> str:
        await ctx.info("Tool execution started")
        await anyio.sleep(0.05)
        await ctx.info("Tool processing data")
        await anyio.sleep(0.05)
        await ctx.info("Tool execution completed")
        return "Tool with logging executed successfully"

    @mcp.tool(description="Reports progress 0, 50 and 100 of 100")
    async def test_tool_with_progress(ctx: Context) -> str:
        for step, progress in enumerate((0, 50, 100)):
            if step:
                await anyio.sleep(0.05)
            await ctx.report_progress(progress, 100, f"{progress}% done")
        return "Tool with progress executed successfully"

    @mcp.tool(description="Tool with JSON Schema 2020-12 features")
    def json_schema_2020_12_tool(**kwargs: Any) -> str:
        return "ok"

    # The SDK derives inputSchema from the signature; the scenario checks that the exact
    # 2020-12 keywords survive tools/list (it never calls the tool), so publish the
    # hand-written schema instead.
    tool = sdk_compat.get_tool(mcp, "json_schema_2020_12_tool")
    assert tool is not None
    tool.parameters = JSON_SCHEMA_2020_12_INPUT

    @mcp.tool(description="Echoes x-mcp-header designated parameters")
    def test_custom_headers(
        region: Annotated[
            str,
            Field(
                description="Mirrored into Mcp-Param-Region",
                json_schema_extra={"x-mcp-header": "Region"},
            ),
        ],
        priority: Annotated[
            int,
            Field(
                description="Mirrored into Mcp-Param-Priority",
                json_schema_extra={"x-mcp-header": "Priority"},
            ),
        ] = 0,
    ) -> str:
        return f"region={region} priority={priority}"


def _register_back_channel_tools(mcp: MCPServer) -> None:
    """Handshake-era tools that send server-to-client requests in the middle of a call."""

    @mcp.tool(description="Asks the client's LLM via sampling/createMessage")
    async def test_sampling(prompt: str, ctx: Context) -> str:
        result = await ctx.request_context.session.send_request(
            _sample(prompt, 100), CreateMessageResult
        )
        content = result.content
        text = content.text if isinstance(content, TextContent) else str(content)
        return f"LLM response: {text}"

    @mcp.tool(description="Asks the user via elicitation/create")
    async def test_elicitation(message: str, ctx: Context) -> str:
        result = await ctx.request_context.session.send_request(
            _elicit(
                message,
                {
                    "username": {"type": "string", "description": "User's response"},
                    "email": {"type": "string", "description": "User's email address"},
                },
                ["username", "email"],
            ),
            ElicitResult,
        )
        return f"User response: action={result.action}, content={json.dumps(result.content)}"

    @mcp.tool(description="Elicitation with defaults for every primitive type (SEP-1034)")
    async def test_elicitation_sep1034_defaults(ctx: Context) -> str:
        result = await ctx.request_context.session.send_request(
            _elicit(
                "Please review and update the form fields with defaults",
                {
                    "name": {"type": "string", "description": "User name", "default": "John Doe"},
                    "age": {"type": "integer", "description": "User age", "default": 30},
                    "score": {"type": "number", "description": "User score", "default": 95.5},
                    "status": {
                        "type": "string",
                        "description": "User status",
                        "enum": ["active", "inactive", "pending"],
                        "default": "active",
                    },
                    "verified": {"type": "boolean", "description": "Verified", "default": True},
                },
                [],
            ),
            ElicitResult,
        )
        return (
            f"Elicitation completed: action={result.action}, content={json.dumps(result.content)}"
        )

    @mcp.tool(description="Elicitation with all five enum schema variants (SEP-1330)")
    async def test_elicitation_sep1330_enums(ctx: Context) -> str:
        result = await ctx.request_context.session.send_request(
            _elicit(
                "Please select options from the enum fields",
                {
                    "untitledSingle": {"type": "string", "enum": ["option1", "option2", "option3"]},
                    "titledSingle": {
                        "type": "string",
                        "oneOf": [
                            {"const": "value1", "title": "First Option"},
                            {"const": "value2", "title": "Second Option"},
                            {"const": "value3", "title": "Third Option"},
                        ],
                    },
                    "legacyEnum": {
                        "type": "string",
                        "enum": ["opt1", "opt2", "opt3"],
                        "enumNames": ["Option One", "Option Two", "Option Three"],
                    },
                    "untitledMulti": {
                        "type": "array",
                        "items": {"type": "string", "enum": ["option1", "option2", "option3"]},
                    },
                    "titledMulti": {
                        "type": "array",
                        "items": {
                            "anyOf": [
                                {"const": "value1", "title": "First Choice"},
                                {"const": "value2", "title": "Second Choice"},
                                {"const": "value3", "title": "Third Choice"},
                            ]
                        },
                    },
                },
                [],
            ),
            ElicitResult,
        )
        return (
            f"Elicitation completed: action={result.action}, content={json.dumps(result.content)}"
        )

    @mcp.tool(description="Closes its SSE stream mid-call so the client must reconnect (SEP-1699)")
    async def test_reconnection(ctx: Context) -> str:
        await anyio.sleep(0.1)
        await ctx.close_sse_stream()
        await anyio.sleep(0.2)
        return "Reconnection test completed"


def _register_input_required_tools(mcp: MCPServer) -> None:
    """2026-07-28 multi-round-trip tools (SEP-2322): the stateless way to ask the client."""

    def user_name_request() -> InputRequests:
        return {"user_name": _elicit("What is your name?", {"name": {"type": "string"}}, ["name"])}

    @mcp.tool(description="Asks for the user's name with an InputRequiredResult")
    def test_input_required_result_elicitation(
        ctx: Context,
    ) -> CallToolResult | InputRequiredResult:
        answer = (ctx.input_responses or {}).get("user_name")
        if not isinstance(answer, ElicitResult) or answer.action != "accept":
            return InputRequiredResult(input_requests=user_name_request())
        name = (answer.content or {}).get("name", "stranger")
        return CallToolResult(content=[TextContent(type="text", text=f"Hello, {name}!")])

    @mcp.tool(description="Asks the client's LLM with an InputRequiredResult")
    def test_input_required_result_sampling(ctx: Context) -> CallToolResult | InputRequiredResult:
        answer = (ctx.input_responses or {}).get("capital_question")
        if not isinstance(answer, CreateMessageResult):
            return InputRequiredResult(
                input_requests={"capital_question": _sample("What is the capital of France?", 100)}
            )
        content = answer.content
        text = content.text if isinstance(content, TextContent) else "(non-text answer)"
        return CallToolResult(content=[TextContent(type="text", text=f"LLM said: {text}")])

    @mcp.tool(description="Asks for the client's roots with an InputRequiredResult")
    def test_input_required_result_list_roots(ctx: Context) -> CallToolResult | InputRequiredResult:
        answer = (ctx.input_responses or {}).get("client_roots")
        if not isinstance(answer, ListRootsResult):
            return InputRequiredResult(input_requests={"client_roots": ListRootsRequest()})
        uris = ", ".join(str(root.uri) for root in answer.roots) or "(none)"
        return CallToolResult(content=[TextContent(type="text", text=f"Client roots: {uris}")])

    @mcp.tool(description="Round-trips requestState with an InputRequiredResult")
    def test_input_required_result_request_state(
        ctx: Context,
    ) -> CallToolResult | InputRequiredResult:
        if ctx.request_state == "awaiting-confirm" and not _missing(ctx, ["confirm"]):
            return CallToolResult(content=[TextContent(type="text", text="state-ok: confirmed")])
        return InputRequiredResult(
            input_requests={
                "confirm": _elicit("Please confirm", {"ok": {"type": "boolean"}}, ["ok"])
            },
            request_state="awaiting-confirm",
        )

    @mcp.tool(description="Asks for elicitation, sampling and roots in one InputRequiredResult")
    def test_input_required_result_multiple_inputs(
        ctx: Context,
    ) -> CallToolResult | InputRequiredResult:
        keys = ["user_name", "greeting", "client_roots"]
        if ctx.request_state == "multi" and not _missing(ctx, keys):
            return CallToolResult(
                content=[TextContent(type="text", text="Received all inputs: " + ", ".join(keys))]
            )
        return InputRequiredResult(
            input_requests={
                **user_name_request(),
                "greeting": _sample("Generate a greeting", 50),
                "client_roots": ListRootsRequest(),
            },
            request_state="multi",
        )

    @mcp.tool(description="Two rounds of InputRequiredResult with evolving requestState")
    def test_input_required_result_multi_round(
        ctx: Context,
    ) -> CallToolResult | InputRequiredResult:
        state = ctx.request_state
        if state == "round-2" and not _missing(ctx, ["step2"]):
            return CallToolResult(content=[TextContent(type="text", text="All rounds complete")])
        if state == "round-2" or (state == "round-1" and not _missing(ctx, ["step1"])):
            return InputRequiredResult(
                input_requests={
                    "step2": _elicit(
                        "Step 2: What is your favorite color?",
                        {"color": {"type": "string"}},
                        ["color"],
                    )
                },
                request_state="round-2",
            )
        return InputRequiredResult(
            input_requests={
                "step1": _elicit(
                    "Step 1: What is your name?", {"name": {"type": "string"}}, ["name"]
                )
            },
            request_state="round-1",
        )

    @mcp.tool(description="Issues integrity-protected requestState and rejects tampering")
    def test_input_required_result_tampered_state(
        ctx: Context,
    ) -> CallToolResult | InputRequiredResult:
        # The SDK seals every outgoing requestState and rejects a modified echo with
        # -32602 before this handler runs, so only genuine state reaches here.
        if ctx.request_state == "tamper-proof" and not _missing(ctx, ["confirm"]):
            return CallToolResult(content=[TextContent(type="text", text="state verified")])
        return InputRequiredResult(
            input_requests={
                "confirm": _elicit("Please confirm", {"ok": {"type": "boolean"}}, ["ok"])
            },
            request_state="tamper-proof",
        )

    @mcp.tool(description="Asks only for the inputs the client's declared capabilities allow")
    def test_input_required_result_capabilities(
        ctx: Context,
    ) -> CallToolResult | InputRequiredResult:
        caps = ctx.client_capabilities
        wanted: InputRequests = {}
        if caps is not None and caps.elicitation is not None:
            wanted.update(user_name_request())
        if caps is not None and caps.sampling is not None:
            wanted["capital_question"] = _sample("What is the capital of France?", 100)
        if caps is not None and caps.roots is not None:
            wanted["client_roots"] = ListRootsRequest()
        if not wanted:
            raise MCPError(
                code=MISSING_REQUIRED_CLIENT_CAPABILITY,
                message="Client declared none of elicitation, sampling or roots",
                data=MissingRequiredClientCapabilityErrorData(
                    required_capabilities=ClientCapabilities(sampling=SamplingCapability())
                ).model_dump(by_alias=True, mode="json", exclude_none=True),
            )
        missing = _missing(ctx, list(wanted))
        if missing:
            return InputRequiredResult(input_requests={k: wanted[k] for k in missing})
        return CallToolResult(
            content=[TextContent(type="text", text="Received: " + ", ".join(wanted))]
        )

    @mcp.tool(description="Needs the client's sampling capability (SEP-2575 -32021 probe)")
    def test_missing_capability(ctx: Context) -> CallToolResult | InputRequiredResult:
        caps = ctx.client_capabilities
        if caps is None or caps.sampling is None:
            raise MCPError(
                code=MISSING_REQUIRED_CLIENT_CAPABILITY,
                message="This tool needs the client's sampling capability",
                data=MissingRequiredClientCapabilityErrorData(
                    required_capabilities=ClientCapabilities(sampling=SamplingCapability())
                ).model_dump(by_alias=True, mode="json", exclude_none=True),
            )
        answer = (ctx.input_responses or {}).get("probe")
        if not isinstance(answer, CreateMessageResult):
            return InputRequiredResult(input_requests={"probe": _sample("Say hello", 10)})
        return CallToolResult(content=[TextContent(type="text", text="sampling available")])

    @mcp.prompt(description="A prompt that first asks the user for context")
    def test_input_required_result_prompt(ctx: Context) -> list[UserMessage] | InputRequiredResult:
        answer = (ctx.input_responses or {}).get("user_context")
        if not isinstance(answer, ElicitResult) or answer.action != "accept":
            return InputRequiredResult(
                input_requests={
                    "user_context": _elicit(
                        "What context should the prompt use?",
                        {"context": {"type": "string"}},
                        ["context"],
                    )
                }
            )
        context = (answer.content or {}).get("context", "")
        return [UserMessage(f"Prompt with context: {context}")]


def _register_list_mutators(mcp: MCPServer) -> None:
    """Diagnostic hooks server-stateless uses to see list_changed reach subscriptions/listen."""

    def dynamic_tool() -> str:
        """A tool test_trigger_tool_change adds and removes."""
        return "dynamic"

    def dynamic_prompt() -> str:
        """A prompt test_trigger_prompt_change adds and removes."""
        return "dynamic"

    @mcp.tool(description="Adds or removes test_dynamic_tool, then notifies tools/list_changed")
    async def test_trigger_tool_change(ctx: Context) -> str:
        if sdk_compat.get_tool(mcp, "test_dynamic_tool") is None:
            mcp.add_tool(dynamic_tool, name="test_dynamic_tool")
            change = "added"
        else:
            mcp.remove_tool("test_dynamic_tool")
            change = "removed"
        await ctx.notify_tools_changed()
        return f"test_dynamic_tool {change}"

    @mcp.tool(description="Adds or removes test_dynamic_prompt, then notifies prompts/list_changed")
    async def test_trigger_prompt_change(ctx: Context) -> str:
        if sdk_compat.get_prompt(mcp, "test_dynamic_prompt") is None:
            mcp.add_prompt(Prompt.from_function(dynamic_prompt, name="test_dynamic_prompt"))
            change = "added"
        else:
            mcp.remove_prompt("test_dynamic_prompt")
            change = "removed"
        await ctx.notify_prompts_changed()
        return f"test_dynamic_prompt {change}"


def _register_resources(mcp: MCPServer) -> None:
    @mcp.resource(
        "test://static-text",
        name="static-text",
        description="A static text resource",
        mime_type="text/plain",
    )
    def static_text() -> str:
        return "This is the content of the static text resource."

    @mcp.resource(
        "test://static-binary",
        name="static-binary",
        description="A static binary resource (a PNG)",
        mime_type="image/png",
    )
    def static_binary() -> bytes:
        return base64.b64decode(RED_PIXEL_PNG)

    @mcp.resource(
        "test://template/{id}/data",
        name="template-data",
        description="A resource template substituting {id}",
        mime_type="application/json",
    )
    def template_data(id: str) -> str:
        return json.dumps({"id": id, "templateTest": True, "data": f"Data for ID: {id}"})

    @mcp.resource(
        "test://watched-resource",
        name="watched-resource",
        description="A resource clients may subscribe to",
        mime_type="text/plain",
    )
    def watched_resource() -> str:
        return "Watched resource content"

    # MCPServer has no decorator for these handshake-era methods; register them on the
    # low-level server. A stateless server has nowhere to deliver updates, so the
    # subscription set only exists for the duration of one request: accept and ack.
    async def subscribe(
        ctx: ServerRequestContext[Any], params: SubscribeRequestParams
    ) -> EmptyResult:
        return EmptyResult()

    async def unsubscribe(
        ctx: ServerRequestContext[Any], params: UnsubscribeRequestParams
    ) -> EmptyResult:
        return EmptyResult()

    async def set_level(
        ctx: ServerRequestContext[Any], params: SetLevelRequestParams
    ) -> EmptyResult:
        return EmptyResult()

    low = sdk_compat.lowlevel_server(mcp)
    low.add_request_handler("resources/subscribe", SubscribeRequestParams, subscribe)
    low.add_request_handler("resources/unsubscribe", UnsubscribeRequestParams, unsubscribe)
    low.add_request_handler("logging/setLevel", SetLevelRequestParams, set_level)


def _register_prompts(mcp: MCPServer) -> None:
    @mcp.prompt(description="A simple prompt without arguments")
    def test_simple_prompt() -> list[UserMessage]:
        return [UserMessage("This is a simple prompt for testing.")]

    @mcp.prompt(description="A prompt with two required arguments")
    def test_prompt_with_arguments(
        arg1: Annotated[str, Field(description="First test argument")],
        arg2: Annotated[str, Field(description="Second test argument")],
    ) -> list[UserMessage]:
        return [UserMessage(f"Prompt with arguments: arg1='{arg1}', arg2='{arg2}'")]

    @mcp.prompt(description="A prompt embedding a resource")
    def test_prompt_with_embedded_resource(
        resourceUri: Annotated[str, Field(description="URI of the resource to embed")],
    ) -> list[UserMessage]:
        return [
            UserMessage(
                EmbeddedResource(
                    type="resource",
                    resource=TextResourceContents(
                        uri=resourceUri,
                        mime_type="text/plain",
                        text="Embedded resource content for testing.",
                    ),
                )
            ),
            UserMessage("Please process the embedded resource above."),
        ]

    @mcp.prompt(description="A prompt with an image")
    def test_prompt_with_image() -> list[UserMessage]:
        return [
            UserMessage(ImageContent(type="image", data=RED_PIXEL_PNG, mime_type="image/png")),
            UserMessage("Please analyze the image above."),
        ]

    # `MCPServer.completion()` is an untyped decorator; register the typed handler directly.
    async def complete(
        ctx: ServerRequestContext[Any], params: CompleteRequestParams
    ) -> CompleteResult:
        candidates = ["paris", "park", "party", "hello", "world"]
        values = [v for v in candidates if v.startswith(params.argument.value)]
        return CompleteResult(
            completion=Completion(values=values, total=len(values), has_more=False)
        )

    sdk_compat.lowlevel_server(mcp).add_request_handler(
        "completion/complete", CompleteRequestParams, complete
    )


def build() -> MCPServer:
    """A fresh conformance server (a zero-argument factory, as the kit's loader expects)."""
    mcp = MCPServer(SERVER_NAME, version="1.0.0", log_level="WARNING")
    _register_content_tools(mcp)
    _register_back_channel_tools(mcp)
    _register_input_required_tools(mcp)
    _register_list_mutators(mcp)
    _register_resources(mcp)
    _register_prompts(mcp)
    return mcp

"""Attribute names: OTel GenAI (current and deprecated), OpenInference, Kubernetes, llmobs extras.

Producers (probe, gateway) emit the *current* OTel GenAI names plus the ``llmobs.*`` extras. What
the store reads, from every instrumentation family and with each name's source, is the tables of
:mod:`llmobs_semconv.families`; the deprecated and OpenInference names here are for code and tests
that write spans in those vocabularies.
"""

from typing import Final

# --- OTel GenAI, current generation (semantic-conventions v1.41 / semantic-conventions-genai) ---
GEN_AI_OPERATION_NAME: Final = "gen_ai.operation.name"
GEN_AI_PROVIDER_NAME: Final = "gen_ai.provider.name"
GEN_AI_REQUEST_MODEL: Final = "gen_ai.request.model"
GEN_AI_REQUEST_MAX_TOKENS: Final = "gen_ai.request.max_tokens"
GEN_AI_REQUEST_TEMPERATURE: Final = "gen_ai.request.temperature"
GEN_AI_REQUEST_TOP_P: Final = "gen_ai.request.top_p"
GEN_AI_REQUEST_STOP_SEQUENCES: Final = "gen_ai.request.stop_sequences"
GEN_AI_REQUEST_STREAM: Final = "gen_ai.request.stream"
GEN_AI_RESPONSE_MODEL: Final = "gen_ai.response.model"
GEN_AI_RESPONSE_ID: Final = "gen_ai.response.id"
GEN_AI_RESPONSE_FINISH_REASONS: Final = "gen_ai.response.finish_reasons"
GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK: Final = "gen_ai.response.time_to_first_chunk"
GEN_AI_USAGE_INPUT_TOKENS: Final = "gen_ai.usage.input_tokens"
GEN_AI_USAGE_OUTPUT_TOKENS: Final = "gen_ai.usage.output_tokens"
GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: Final = "gen_ai.usage.cache_read.input_tokens"
GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS: Final = "gen_ai.usage.cache_creation.input_tokens"
GEN_AI_USAGE_REASONING_OUTPUT_TOKENS: Final = "gen_ai.usage.reasoning.output_tokens"
GEN_AI_CONVERSATION_ID: Final = "gen_ai.conversation.id"
GEN_AI_TOOL_NAME: Final = "gen_ai.tool.name"
GEN_AI_TOOL_TYPE: Final = "gen_ai.tool.type"
GEN_AI_TOOL_DESCRIPTION: Final = "gen_ai.tool.description"
GEN_AI_TOOL_CALL_ID: Final = "gen_ai.tool.call.id"
GEN_AI_TOOL_CALL_ARGUMENTS: Final = "gen_ai.tool.call.arguments"
GEN_AI_TOOL_CALL_RESULT: Final = "gen_ai.tool.call.result"
GEN_AI_AGENT_ID: Final = "gen_ai.agent.id"
GEN_AI_AGENT_NAME: Final = "gen_ai.agent.name"
GEN_AI_DATA_SOURCE_ID: Final = "gen_ai.data_source.id"
GEN_AI_EMBEDDINGS_DIMENSION_COUNT: Final = "gen_ai.embeddings.dimension.count"
GEN_AI_INPUT_MESSAGES: Final = "gen_ai.input.messages"
GEN_AI_OUTPUT_MESSAGES: Final = "gen_ai.output.messages"
GEN_AI_SYSTEM_INSTRUCTIONS: Final = "gen_ai.system_instructions"
GEN_AI_TOKEN_TYPE: Final = "gen_ai.token.type"  # metric attribute: "input" | "output"

# Operation names (values of gen_ai.operation.name).
OP_CHAT: Final = "chat"
OP_TEXT_COMPLETION: Final = "text_completion"
OP_GENERATE_CONTENT: Final = "generate_content"
OP_EMBEDDINGS: Final = "embeddings"
OP_RETRIEVAL: Final = "retrieval"
OP_EXECUTE_TOOL: Final = "execute_tool"
OP_INVOKE_AGENT: Final = "invoke_agent"
OP_CREATE_AGENT: Final = "create_agent"
OP_INVOKE_WORKFLOW: Final = "invoke_workflow"

# --- OTel GenAI, deprecated generation: accepted on ingest, never emitted by us ---
GEN_AI_SYSTEM: Final = "gen_ai.system"
GEN_AI_USAGE_PROMPT_TOKENS: Final = "gen_ai.usage.prompt_tokens"
GEN_AI_USAGE_COMPLETION_TOKENS: Final = "gen_ai.usage.completion_tokens"
GEN_AI_PROMPT: Final = "gen_ai.prompt"
GEN_AI_COMPLETION: Final = "gen_ai.completion"

# --- General OTel attributes we read or write ---
ERROR_TYPE: Final = "error.type"
SERVER_ADDRESS: Final = "server.address"
SERVER_PORT: Final = "server.port"
SERVICE_NAME: Final = "service.name"
HTTP_RESPONSE_STATUS_CODE: Final = "http.response.status_code"
SESSION_ID: Final = "session.id"  # also OpenInference's name
USER_ID: Final = "user.id"  # also OpenInference's name
MCP_METHOD_NAME: Final = "mcp.method.name"
MCP_SESSION_ID: Final = "mcp.session.id"

# W3C baggage keys that carry the session and user across processes (browser, gateway, app).
BAGGAGE_SESSION_ID: Final = "session.id"
BAGGAGE_USER_ID: Final = "user.id"
# Gateway request headers (Helicone-style) that name the session and user explicitly.
HEADER_SESSION_ID: Final = "x-llmobs-session-id"
HEADER_USER_ID: Final = "x-llmobs-user-id"
# Sent by the probe on each instrumented LLM request: the id (16 hex digits) of its LLM span.
HEADER_CALLER_SPAN_ID: Final = "x-llmobs-caller-span-id"

# --- Kubernetes resource attributes (OTel k8s semantic conventions) ---
K8S_NAMESPACE_NAME: Final = "k8s.namespace.name"
K8S_POD_NAME: Final = "k8s.pod.name"
K8S_POD_UID: Final = "k8s.pod.uid"
K8S_NODE_NAME: Final = "k8s.node.name"
K8S_CONTAINER_NAME: Final = "k8s.container.name"
K8S_DEPLOYMENT_NAME: Final = "k8s.deployment.name"
K8S_STATEFULSET_NAME: Final = "k8s.statefulset.name"
K8S_DAEMONSET_NAME: Final = "k8s.daemonset.name"
K8S_JOB_NAME: Final = "k8s.job.name"
K8S_CRONJOB_NAME: Final = "k8s.cronjob.name"
K8S_REPLICASET_NAME: Final = "k8s.replicaset.name"
#: the attributes that name a pod's owning workload, most specific first
K8S_WORKLOAD_ATTRIBUTES: Final[tuple[str, ...]] = (
    K8S_DEPLOYMENT_NAME,
    K8S_STATEFULSET_NAME,
    K8S_DAEMONSET_NAME,
    K8S_CRONJOB_NAME,
    K8S_JOB_NAME,
    K8S_REPLICASET_NAME,
)

# --- OpenInference (Arize Phoenix): accepted on ingest ---
OI_SPAN_KIND: Final = "openinference.span.kind"
OI_INPUT_VALUE: Final = "input.value"
OI_OUTPUT_VALUE: Final = "output.value"
OI_LLM_MODEL_NAME: Final = "llm.model_name"
OI_LLM_PROVIDER: Final = "llm.provider"
OI_LLM_SYSTEM: Final = "llm.system"
OI_TOKEN_COUNT_PROMPT: Final = "llm.token_count.prompt"
OI_TOKEN_COUNT_COMPLETION: Final = "llm.token_count.completion"
OI_TOKEN_COUNT_TOTAL: Final = "llm.token_count.total"
OI_TOKEN_COUNT_CACHE_READ: Final = "llm.token_count.prompt_details.cache_read"
OI_TOKEN_COUNT_REASONING: Final = "llm.token_count.completion_details.reasoning"
OI_COST_TOTAL: Final = "llm.cost.total"
OI_TOOL_NAME: Final = "tool.name"
OI_FIRST_TOKEN_EVENT: Final = "First Token Stream Event"

# --- llmobs extras: what the conventions do not (yet) name ---
LLMOBS_SPAN_KIND: Final = "llmobs.span.kind"  # one of span_kinds.ALL
LLMOBS_LAYER: Final = "llmobs.layer"  # one of LAYERS below
LLMOBS_TTFT: Final = "llmobs.ttft_s"  # seconds from request to first content chunk
LLMOBS_TPOT: Final = "llmobs.tpot_s"  # mean seconds per output token after the first
LLMOBS_TBT_MAX: Final = "llmobs.tbt.max_s"  # largest gap between chunks, seconds
LLMOBS_TBT_P95: Final = "llmobs.tbt.p95_s"  # 95th percentile gap between chunks, seconds
LLMOBS_CHUNK_COUNT: Final = "llmobs.stream.chunks"  # content chunks received
LLMOBS_ABANDONED: Final = "llmobs.stream.abandoned"  # the consumer stopped before the end
LLMOBS_USAGE_ESTIMATED: Final = "llmobs.usage.estimated"  # token counts estimated, not reported
LLMOBS_COST_USD: Final = "llmobs.cost.usd"  # total cost of the call
LLMOBS_COST_INPUT_USD: Final = "llmobs.cost.input_usd"
LLMOBS_COST_OUTPUT_USD: Final = "llmobs.cost.output_usd"
LLMOBS_CONTENT_CAPTURED: Final = "llmobs.content.captured"  # chunk records were emitted
LLMOBS_UPSTREAM: Final = "llmobs.gateway.upstream"  # upstream name the gateway chose
LLMOBS_ATTEMPTS: Final = "llmobs.gateway.attempts"  # upstream attempts, failover included
LLMOBS_API_KEY_HASH: Final = "llmobs.gateway.api_key_hash"  # sha256 prefix, never the key
LLMOBS_RETRIES: Final = "llmobs.client.retries"  # SDK retries inside one user call
# The span id of the caller's own LLM span for the same call, when the caller (the probe) records
# it: a gateway span carrying this is the same call seen one layer down, so the store counts its
# requests, tokens and cost once (the caller's) while still showing both spans.
LLMOBS_CALLER_SPAN_ID: Final = "llmobs.caller.span_id"

# Values of llmobs.layer: where in the stack a span was recorded.
LAYER_BROWSER: Final = "browser"
LAYER_GATEWAY: Final = "gateway"
LAYER_APP: Final = "app"
LAYER_MODEL_SERVER: Final = "model_server"
LAYERS: Final[tuple[str, ...]] = (LAYER_BROWSER, LAYER_GATEWAY, LAYER_APP, LAYER_MODEL_SERVER)

# Resource attributes of metric points the store scrapes from Prometheus endpoints (model servers,
# GPU exporters): where they were scraped and which kind of target ("model-server" or "gpu").
LLMOBS_SCRAPE_URL: Final = "llmobs.scrape.url"
LLMOBS_SCRAPE_KIND: Final = "llmobs.scrape.kind"

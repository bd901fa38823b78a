"""A tiny LLM app, as it would be baked into an image at /app/chat.py: one streamed chat
completion and one plain one through the openai SDK, against ``OPENAI_BASE_URL``. It knows
nothing about llmobs; the probe the webhook injected is what records its calls."""

import os

from openai import OpenAI


def main() -> None:
    client = OpenAI(base_url=os.environ["OPENAI_BASE_URL"], api_key="sk-e2e")
    stream = client.chat.completions.create(
        model="sim-model",
        messages=[{"role": "user", "content": "Say hello to the e2e test."}],
        stream=True,
        stream_options={"include_usage": True},
    )
    pieces = [c.choices[0].delta.content or "" for c in stream if c.choices]
    reply = client.chat.completions.create(
        model="sim-model", messages=[{"role": "user", "content": "And once more, not streamed."}]
    )
    tokens = reply.usage.completion_tokens if reply.usage else 0
    print(f"streamed {len(''.join(pieces))} chars; then {tokens} tokens")


if __name__ == "__main__":
    main()

"""An unmodified script: sync and async, streaming and not; one LLM call each, knows no probe."""

import asyncio
import json
import os

import openai

HEADERS = {"x-llmobs-test-run": os.environ["RUN_ID"]}
MESSAGES = [{"role": "user", "content": "hello"}]


def sync_calls(base_url: str) -> None:
    client = openai.OpenAI(base_url=base_url, api_key="k", max_retries=0, default_headers=HEADERS)
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    for _ in stream:
        pass


async def async_calls(base_url: str) -> None:
    client = openai.AsyncOpenAI(
        base_url=base_url, api_key="k", max_retries=0, default_headers=HEADERS
    )
    await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    stream = await client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True
    )
    async for _ in stream:
        pass


def main() -> None:
    base_url = os.environ["SIM_URL"] + "/v1"
    sync_calls(base_url)
    asyncio.run(async_calls(base_url))
    print(json.dumps({"calls": 4}))


if __name__ == "__main__":
    main()

"""An unmodified script: one chat completion and one stream; knows nothing about the probe."""

import json
import os
import sys

import openai


def main() -> None:
    client = openai.OpenAI(base_url=os.environ["SIM_URL"] + "/v1", api_key="k", max_retries=0)
    result = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hello"}]
    )
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hello"}], stream=True
    )
    n = sum(1 for _ in stream)
    report = {
        "id": result.id,
        "chunks": n,
        "pythonpath": os.environ.get("PYTHONPATH"),
        "probe_loaded": "llmobs_probe" in sys.modules,
        "version": list(sys.version_info[:2]),
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()

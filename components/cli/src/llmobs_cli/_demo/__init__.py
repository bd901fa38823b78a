"""The sample application of ``llmobs demo``: a retrieval-augmented chatbot and its traffic.

* ``corpus.json`` — a few dozen short documents (bundled, no download);
* :mod:`._retrieval` — a vector index over them (usearch), embeddings from the gateway;
* :mod:`._chatbot` — one conversation turn: embed, retrieve, stream a chat completion, call a tool;
  now and then a research agent that loops on the same tool call;
* :mod:`._traffic` — simulated users holding multi-turn sessions;
* :mod:`.app` — the process the demo runs under ``llmobs-instrument``;
* :mod:`._stack` — starts and stops the services of the demo.
"""

-- Input tokens written to the provider's prompt cache (OTel GenAI
-- gen_ai.usage.cache_creation.input_tokens, OpenInference ...prompt_details.cache_write): billed
-- apart from cache reads on some providers, so kept apart from cached_tokens.
ALTER TABLE {db}.spans{local} {on_cluster}
    ADD COLUMN IF NOT EXISTS cache_creation_tokens UInt64 DEFAULT 0 AFTER cached_tokens;

{alter_distributed:spans:ADD COLUMN IF NOT EXISTS cache_creation_tokens UInt64 DEFAULT 0 AFTER cached_tokens}

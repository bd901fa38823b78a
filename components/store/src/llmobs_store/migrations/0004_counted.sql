-- One LLM call seen by two layers (the app's probe span and the gateway's span below it) is
-- counted once: the gateway marks its span with llmobs.caller.span_id when the caller sent
-- x-llmobs-caller-span-id, and such spans are left out of every aggregate (counted = 0). Rows
-- stored before this column existed compute the same default from their attributes on read.
ALTER TABLE {db}.spans{local} {on_cluster}
    ADD COLUMN IF NOT EXISTS counted UInt8 DEFAULT attributes['llmobs.caller.span_id'] = '';

{alter_distributed:spans:ADD COLUMN IF NOT EXISTS counted UInt8 DEFAULT attributes['llmobs.caller.span_id'] = ''}

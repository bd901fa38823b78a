"""The family tables as Markdown (``docs/conventions.md``): ``python -m llmobs_semconv.families``.

The tables are the source; the page is generated from them and a test keeps it in step.
"""

from __future__ import annotations

from llmobs_semconv.families._rows import Family

_HEAD = """# Instrumentation conventions the store reads

Generated from the tables of `llmobs_semconv.families`
(`python -m llmobs_semconv.families > docs/conventions.md`); edit the tables, not this page.
Where several names fill one field, the highest rank present wins; a kind is decided the same
way across all kind attributes of a span (`*`: any value). Durations are converted from the unit
given; content moves to the content table (one record per span and role) in the format given."""


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render(families: tuple[Family, ...]) -> str:
    """Every family's rows as Markdown tables, each row with its source."""
    out = [_HEAD]
    for family in families:
        out.append(f"\n## {family.title} (`{family.name}`)\n")
        if family.guard is not None:
            out.append(f"Read only on spans with `{family.guard[0]}` = `{family.guard[1]}`.\n")
        if family.attributes:
            out.append("| attribute | field | unit | rank | source |\n|---|---|---|---|---|")
            out += [
                f"| `{a.name}` | {a.field} | {a.unit} | {a.rank} | {_cell(a.source)} |"
                for a in family.attributes
            ]
            out.append("")
        if family.kinds:
            out.append(
                "| attribute | value | kind | rank | layer | source |\n|---|---|---|---|---|---|"
            )
            out += [
                f"| `{k.attribute}` | `{k.value}` | {k.kind} | {k.rank} | {k.layer} | "
                f"{_cell(k.source)} |"
                for k in family.kinds
            ]
            out.append("")
        if family.flattened:
            out.append(
                "| flattened prefix | field | rank | wrappers | source |\n|---|---|---|---|---|"
            )
            out += [
                f"| `{f.prefix}<n>.` | {f.field} | {f.rank} | {', '.join(f.wrappers)} | "
                f"{_cell(f.source)} |"
                for f in family.flattened
            ]
            out.append("")
        if family.span_events:
            out.append("| span event | meaning | source |\n|---|---|---|")
            out += [f"| `{e.name}` | {e.meaning} | {_cell(e.source)} |" for e in family.span_events]
            out.append("")
        if family.log_events:
            out.append("| log event | shape | message role | source |\n|---|---|---|---|")
            out += [
                f"| `{e.name}` | {e.shape} | {e.message_role} | {_cell(e.source)} |"
                for e in family.log_events
            ]
            out.append("")
        if family.name_suffixes:
            out.append("| from the span name | when | source |\n|---|---|---|")
            out += [
                f"| {n.field}: text after `{n.value} ` | `{n.attribute}` = `{n.value}` | "
                f"{_cell(n.source)} |"
                for n in family.name_suffixes
            ]
            out.append("")
    return "\n".join(out).rstrip() + "\n"

"""``llmobs-instrument``: run a command with the probe loaded (filled by the probe issue)."""

import sys
from typing import List, Optional


def main(argv: Optional[List[str]] = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help"):
        print("usage: llmobs-instrument COMMAND [ARGS...] | llmobs-instrument bundle DIR")
        return 0 if args else 2
    print("llmobs-instrument: the probe is not built yet", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())

"""How the connection carries a refusal: out of the parser's callbacks, and into the queue."""

from llmobs_gateway._exchange import Request


class _Refusal(Request):
    """A refusal queued behind the requests before it, answered in its turn."""

    __slots__ = ("message", "status")

    def __init__(self, status: int, message: str) -> None:
        super().__init__("", "", [], b"")
        self.status = status
        self.message = message


class _HeadersTooLarge(Exception):
    pass


class _Refused(Exception):
    """A head httptools accepted that RFC 9112 (or the gateway) refuses: answer, then close."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

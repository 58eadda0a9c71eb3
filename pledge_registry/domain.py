"""The one base of every service's refusal: services raise, views translate."""


class DomainError(Exception):
    """A rule refused the request; `code` says which (views map it to a message)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code

"""What makes a lots file large enough for a fast reader, what those readers check in its bytes
before they trust a quick split (no quote and no lone carriage return: the csv module's rules
decide those, so the exact reader reads them), and the digest they return for the file. A module
light enough for the program's start."""

from __future__ import annotations

from typing import NamedTuple

FAST_MIN_BYTES = 16 << 20  # lots files this large take a fast path (Arrow, else the split read)
MAX_CSV_BYTES = 2 * 1024 * 1024 * 1024  # a CSV file larger than this is refused by the loader


class FileDigest(NamedTuple):
    """A file's SHA-256 (hex) and size in bytes, as the loader records its inputs."""

    sha256: str
    size: int


class PlainCheck:
    """Whether the bytes seen, block after block, hold no quote and no lone carriage return (a
    CR that does not end a CRLF line break)."""

    def __init__(self) -> None:
        self.quotes = self.lone_cr = False
        self._cr = False  # the block before ended with a CR: this one must start with LF

    def see(self, block: bytes) -> None:
        if not block:
            return
        self.quotes = self.quotes or b'"' in block
        if self._cr and not block.startswith(b"\n"):
            self.lone_cr = True
        self._cr = block.endswith(b"\r")
        body = block[:-1] if self._cr else block
        if b"\r" in body and body.count(b"\r") != body.count(b"\r\n"):
            self.lone_cr = True

    @property
    def plain(self) -> bool:
        """No quote and no lone CR so far, the last block included (call when all is seen)."""
        return not (self.quotes or self.lone_cr or self._cr)

"""The byte check both fast readers of a large lots file share: no quote, no lone carriage return."""

from __future__ import annotations

import pytest

from cmcflex.dossier.plain_csv import PlainCheck


def seen(*blocks: bytes) -> PlainCheck:
    check = PlainCheck()
    for block in blocks:
        check.see(block)
    return check


@pytest.mark.parametrize(("blocks", "plain"), [
    ((b"a,b\nc,d\n",), True),
    ((b"a,b\r\nc,d\r\n",), True),
    ((b"a,b\r", b"\nc,d\r\n"), True),          # a CRLF split between two blocks
    ((b"a,b\r", b"", b"\nc,d\n"), True),        # an empty read in between changes nothing
    ((b"a,b\r", b"c,d\n"), False),             # the CR ends a block and the next starts a line
    ((b"a,b\rc,d\n",), False),
    ((b"a,b\n", b"c,d\r"), False),             # the file ends with a lone CR
    ((b'a,"b"\n',), False),
    ((b"a,b\n", b'c,"d\n'), False),
])
def test_quotes_and_lone_carriage_returns_are_found_across_blocks(blocks: tuple[bytes, ...], plain: bool) -> None:
    assert seen(*blocks).plain is plain


def test_it_says_which_it_found() -> None:
    assert seen(b'"x"\n').quotes and not seen(b'"x"\n').lone_cr
    assert seen(b"x\ry\n").lone_cr and not seen(b"x\ry\n").quotes

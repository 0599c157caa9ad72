"""C2SP tlog-tiles: tile paths, which tiles exist, tile contents, entry bundles.

* Tiles have height 8: a full tile holds 256 hashes (8,192 bytes).
* The ``n``-th tile at level ``L`` holds, for ``i`` in ``0..255``, the Merkle
  Tree Hash of leaves ``[(n*256 + i) * 256**L, (n*256 + i + 1) * 256**L)``,
  i.e. the stored perfect-subtree node ``get_node(8*L, n*256 + i)``.
* For a tree of size ``s`` there are ``s // 256**(L+1)`` full tiles at level
  ``L`` and, if ``w = (s // 256**L) % 256`` is non-zero, one partial tile of
  width ``w``.  Empty tiles do not exist.
* Paths: ``tile/<L>/<N>[.p/<W>]`` and ``tile/entries/<N>[.p/<W>]`` where ``<N>``
  is written in 3-digit groups, every group but the last prefixed with ``x``
  (1234067 -> ``x001/x234/067``).
* Entry bundles are the entries of one level-0 tile, each encoded as a
  big-endian uint16 length followed by the entry bytes.

Spec: C2SP tlog-tiles ("Merkle Tree", "Partial Tiles", "Log entries").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator, List, Optional, Sequence

from .merkle import HASH_SIZE, GetNode

__all__ = [
    "TILE_HEIGHT",
    "TILE_WIDTH",
    "MAX_LEVEL",
    "MAX_ENTRY_SIZE",
    "TileError",
    "Tile",
    "encode_tile_index",
    "decode_tile_index",
    "tile_path",
    "entries_path",
    "parse_tile_path",
    "tile_layout",
    "tiles_for_size",
    "entry_bundles_for_size",
    "new_tiles",
    "tile_data",
    "split_tile_data",
    "encode_entry_bundle",
    "decode_entry_bundle",
]

#: Tree levels per tile.
TILE_HEIGHT = 8
#: Hashes in a full tile (2**TILE_HEIGHT).
TILE_WIDTH = 1 << TILE_HEIGHT
#: Highest tile level allowed in paths.
MAX_LEVEL = 63
#: Largest entry that fits in an entry bundle (uint16 length prefix).
MAX_ENTRY_SIZE = 0xFFFF


class TileError(ValueError):
    """Malformed tile path, tile data or entry bundle."""


def _check_int(what: str, v: object) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise TypeError(f"{what} must be an int")
    if v < 0:
        raise ValueError(f"{what} must be non-negative, got {v}")
    return v


def encode_tile_index(n: int) -> str:
    """Encode a tile index as zero-padded 3-digit path elements.

    Args:
        n: tile index, ``>= 0``.
    Returns:
        e.g. ``0 -> "000"``, ``1234067 -> "x001/x234/067"``.
    Raises:
        ValueError: negative index.
    Spec: C2SP tlog-tiles, "Merkle Tree" (``<N>``).
    """
    _check_int("tile index", n)
    parts = [f"{n % 1000:03d}"]
    n //= 1000
    while n > 0:
        parts.append(f"x{n % 1000:03d}")
        n //= 1000
    return "/".join(reversed(parts))


def decode_tile_index(s: str) -> int:
    """Inverse of :func:`encode_tile_index`.

    Raises:
        TileError: not of the form ``[xDDD/]*DDD`` or a non-canonical encoding
            (e.g. a leading ``x000`` group).
    """
    if not re.fullmatch(r"(x[0-9]{3}/)*[0-9]{3}", s or ""):
        raise TileError(f"malformed tile index {s!r}")
    parts = s.split("/")
    if len(parts) > 1 and parts[0] == "x000":
        raise TileError(f"tile index {s!r} has a leading zero group")
    n = 0
    for p in parts:
        n = n * 1000 + int(p.lstrip("x"))
    return n


@dataclass(frozen=True)
class Tile:
    """A hash tile or an entry bundle.

    Attributes:
        level: tile level ``L`` (0..63); ignored for entry bundles (use 0).
        index: tile index ``N``.
        width: number of hashes/entries, 1..256 (256 = full tile).
        entries: True for an entry bundle (``tile/entries/...``).
    """

    level: int
    index: int
    width: int = TILE_WIDTH
    entries: bool = False

    def __post_init__(self) -> None:
        _check_int("tile level", self.level)
        _check_int("tile index", self.index)
        _check_int("tile width", self.width)
        if self.level > MAX_LEVEL:
            raise ValueError(f"tile level {self.level} exceeds {MAX_LEVEL}")
        if not 1 <= self.width <= TILE_WIDTH:
            raise ValueError(f"tile width {self.width} is not in 1..{TILE_WIDTH}")
        if self.entries and self.level != 0:
            raise ValueError("entry bundles have level 0")

    @property
    def is_partial(self) -> bool:
        """True when ``width < 256``."""
        return self.width < TILE_WIDTH

    @property
    def path(self) -> str:
        """The tile path, e.g. ``tile/0/x001/234.p/17`` or ``tile/entries/000``."""
        head = "tile/entries" if self.entries else f"tile/{self.level}"
        p = f"{head}/{encode_tile_index(self.index)}"
        if self.is_partial:
            p += f".p/{self.width}"
        return p

    @property
    def start(self) -> int:
        """First leaf index covered: ``index * 256**(level+1)``."""
        return self.index << (TILE_HEIGHT * (self.level + 1))

    @property
    def end(self) -> int:
        """One past the last leaf index covered by the hashes present."""
        return (self.index * TILE_WIDTH + self.width) << (TILE_HEIGHT * self.level)

    def node_coordinates(self) -> List[tuple]:
        """``[(tree level, node index), ...]`` of the hashes in this tile (hash tiles only)."""
        base = self.index * TILE_WIDTH
        return [(TILE_HEIGHT * self.level, base + i) for i in range(self.width)]


def tile_path(level: int, index: int, width: int = TILE_WIDTH) -> str:
    """Return ``tile/<L>/<N>[.p/<W>]`` for a hash tile.

    Raises:
        ValueError: level outside 0..63, width outside 1..256, negative index.
    Spec: C2SP tlog-tiles, "Merkle Tree".
    """
    return Tile(level, index, width).path


def entries_path(index: int, width: int = TILE_WIDTH) -> str:
    """Return ``tile/entries/<N>[.p/<W>]`` for an entry bundle.

    Spec: C2SP tlog-tiles, "Log entries".
    """
    return Tile(0, index, width, entries=True).path


_PATH_RE = re.compile(
    r"tile/(?P<level>entries|0|[1-9][0-9]?)/(?P<n>(?:x[0-9]{3}/)*[0-9]{3})(?:\.p/(?P<w>[1-9][0-9]{0,2}))?"
)


def parse_tile_path(path: str) -> Tile:
    """Parse a tile or entry-bundle path (without the URL prefix).

    Args:
        path: e.g. ``"tile/1/x001/234.p/17"`` or ``"tile/entries/067"``.
    Returns:
        :class:`Tile`.
    Raises:
        TileError: not a canonical tile path (leading zeroes, bad width, level > 63...).
    """
    m = _PATH_RE.fullmatch(path or "")
    if not m:
        raise TileError(f"malformed tile path {path!r}")
    index = decode_tile_index(m.group("n"))
    width = TILE_WIDTH
    if m.group("w"):
        width = int(m.group("w"))
        if width >= TILE_WIDTH:
            raise TileError(f"partial tile width {width} must be below {TILE_WIDTH}")
    lv = m.group("level")
    try:
        if lv == "entries":
            return Tile(0, index, width, entries=True)
        return Tile(int(lv), index, width)
    except ValueError as exc:
        raise TileError(f"malformed tile path {path!r}: {exc}") from None


def _level_tiles(size: int, level: int, entries: bool = False) -> Iterator[Tile]:
    nodes = size >> (TILE_HEIGHT * level)  # complete nodes at tree level 8*level
    full, width = divmod(nodes, TILE_WIDTH)
    for n in range(full):
        yield Tile(level, n, TILE_WIDTH, entries)
    if width:
        yield Tile(level, full, width, entries)


def tile_layout(size: int) -> List[tuple]:
    """Summarise the hash tiles of a tree without listing them.

    Args:
        size: tree size, ``>= 0``.
    Returns:
        ``[(level, full_tiles, partial_width), ...]`` for every level that has
        at least one tile (``partial_width`` is 0 when there is no partial tile).
    Raises:
        ValueError: negative size.
    Spec: C2SP tlog-tiles, "Partial Tiles".
    """
    _check_int("tree size", size)
    out = []
    level = 0
    while size >> (TILE_HEIGHT * level):
        full, width = divmod(size >> (TILE_HEIGHT * level), TILE_WIDTH)
        out.append((level, full, width))
        level += 1
    return out


def tiles_for_size(size: int) -> List[Tile]:
    """Return every hash tile (full and partial) of a tree of ``size`` leaves.

    Ordered by level, then index.  Level ``L`` exists while ``size >= 256**L``.
    The list has about ``size / 255`` elements; use :func:`tile_layout` or
    :func:`new_tiles` for large trees.

    Raises:
        ValueError: negative size.
    Spec: C2SP tlog-tiles, "Partial Tiles" (e.g. size 70,000 -> 273 full + one
    width-112 tile at level 0, one full + one width-17 tile at level 1, one
    width-1 tile at level 2).
    """
    _check_int("tree size", size)
    out: List[Tile] = []
    level = 0
    while size >> (TILE_HEIGHT * level):
        out.extend(_level_tiles(size, level))
        level += 1
    return out


def entry_bundles_for_size(size: int) -> List[Tile]:
    """Return every entry bundle (full and partial) of a tree of ``size`` leaves."""
    _check_int("tree size", size)
    return list(_level_tiles(size, 0, entries=True))


def new_tiles(old_size: int, new_size: int) -> List[Tile]:
    """Return the hash tiles that must be (re)published when growing the tree.

    A tile is included when it exists at ``new_size`` and did not exist with
    the same width at ``old_size``.  Cost is proportional to the number of
    tiles returned, not to the tree size.

    Raises:
        ValueError: ``old_size > new_size`` or negative sizes.
    """
    _check_int("old size", old_size)
    _check_int("new size", new_size)
    if old_size > new_size:
        raise ValueError(f"old size {old_size} is larger than new size {new_size}")
    out: List[Tile] = []
    level = 0
    while new_size >> (TILE_HEIGHT * level):
        shift = TILE_HEIGHT * level
        old_nodes, new_nodes = old_size >> shift, new_size >> shift
        # first tile that changed: the one holding node ``old_nodes`` (or later)
        first = old_nodes // TILE_WIDTH
        for t in range(first, (new_nodes + TILE_WIDTH - 1) // TILE_WIDTH):
            width = min(TILE_WIDTH, new_nodes - t * TILE_WIDTH)
            old_width = max(0, min(TILE_WIDTH, old_nodes - t * TILE_WIDTH))
            if width != old_width:
                out.append(Tile(level, t, width))
        level += 1
    return out


def tile_data(tile: Tile, get_node: GetNode) -> bytes:
    """Return the bytes of a hash tile: ``width`` concatenated 32-byte hashes.

    Args:
        tile: a hash tile (not an entry bundle).
        get_node: ``get_node(level, index)`` as in :mod:`.merkle`; the hashes
            read are ``get_node(8*L, N*256 + i)`` for ``i < width``.
    Returns:
        ``32 * width`` bytes.
    Raises:
        ValueError: ``tile`` is an entry bundle or a node is not 32 bytes.
    Spec: C2SP tlog-tiles, "Merkle Tree".
    """
    if tile.entries:
        raise ValueError("tile_data is for hash tiles, not entry bundles")
    out = []
    for lvl, idx in tile.node_coordinates():
        h = get_node(lvl, idx)
        if len(h) != HASH_SIZE:
            raise ValueError(f"get_node({lvl}, {idx}) did not return {HASH_SIZE} bytes")
        out.append(bytes(h))
    return b"".join(out)


def split_tile_data(data: bytes, width: Optional[int] = None) -> List[bytes]:
    """Split hash tile bytes into 32-byte hashes.

    Raises:
        TileError: length not a multiple of 32, more than 256 hashes, or not
            ``width`` hashes when ``width`` is given.
    """
    if len(data) % HASH_SIZE or len(data) > HASH_SIZE * TILE_WIDTH or not data:
        raise TileError(f"tile data length {len(data)} is not 32 * (1..256)")
    hashes = [bytes(data[i : i + HASH_SIZE]) for i in range(0, len(data), HASH_SIZE)]
    if width is not None and len(hashes) != width:
        raise TileError(f"tile has {len(hashes)} hashes, expected {width}")
    return hashes


def encode_entry_bundle(entries: Sequence[bytes]) -> bytes:
    """Encode entries as an entry bundle (uint16 big-endian length || bytes, each).

    Raises:
        ValueError: more than 256 entries, or an entry longer than 65,535 bytes.
    Spec: C2SP tlog-tiles, "Log entries".
    """
    if len(entries) > TILE_WIDTH:
        raise ValueError(f"an entry bundle holds at most {TILE_WIDTH} entries")
    out = []
    for i, e in enumerate(entries):
        if len(e) > MAX_ENTRY_SIZE:
            raise ValueError(f"entry {i} is {len(e)} bytes, larger than {MAX_ENTRY_SIZE}")
        out.append(len(e).to_bytes(2, "big"))
        out.append(bytes(e))
    return b"".join(out)


def decode_entry_bundle(data: bytes) -> List[bytes]:
    """Decode an entry bundle into its entries.

    Raises:
        TileError: truncated length prefix or entry, or more than 256 entries.
    """
    out: List[bytes] = []
    i, n = 0, len(data)
    while i < n:
        if i + 2 > n:
            raise TileError("entry bundle ends inside a length prefix")
        ln = int.from_bytes(data[i : i + 2], "big")
        i += 2
        if i + ln > n:
            raise TileError("entry bundle ends inside an entry")
        out.append(bytes(data[i : i + ln]))
        i += ln
        if len(out) > TILE_WIDTH:
            raise TileError(f"entry bundle has more than {TILE_WIDTH} entries")
    return out

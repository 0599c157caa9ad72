"""Tests for plugins.notary.tlog.tiles (C2SP tlog-tiles)."""

import pytest
from hypothesis import given, settings, strategies as st

from plugins.notary.tlog.merkle import CompactRange, leaf_hash, node_hash, subtree_hash
from plugins.notary.tlog.tiles import (
    TILE_WIDTH,
    Tile,
    TileError,
    decode_entry_bundle,
    decode_tile_index,
    encode_entry_bundle,
    encode_tile_index,
    entries_path,
    entry_bundles_for_size,
    new_tiles,
    tile_layout,
    parse_tile_path,
    split_tile_data,
    tile_data,
    tile_path,
    tiles_for_size,
)


# ------------------------------------------------------------------ paths


@pytest.mark.parametrize(
    "n,enc",
    [
        (0, "000"),
        (7, "007"),
        (999, "999"),
        (1000, "x001/000"),
        (1234067, "x001/x234/067"),  # the spec example
        (123456078, "x123/x456/078"),
        (10**9, "x001/x000/x000/000"),
    ],
)
def test_tile_index_encoding(n, enc):
    assert encode_tile_index(n) == enc
    assert decode_tile_index(enc) == n


def test_paths_from_spec():
    assert tile_path(0, 1234067) == "tile/0/x001/x234/067"
    assert tile_path(0, 273, 112) == "tile/0/273.p/112"
    assert tile_path(1, 1, 17) == "tile/1/001.p/17"
    assert tile_path(2, 0, 1) == "tile/2/000.p/1"
    assert entries_path(1234067) == "tile/entries/x001/x234/067"
    assert entries_path(5, 3) == "tile/entries/005.p/3"
    assert Tile(63, 0).path == "tile/63/000"


@pytest.mark.parametrize(
    "path,tile",
    [
        ("tile/0/000", Tile(0, 0)),
        ("tile/5/x123/x456/078", Tile(5, 123456078)),
        ("tile/5/x123/x456/078.p/2", Tile(5, 123456078, 2)),
        ("tile/1/x003/x057/500", Tile(1, 3057500)),
        ("tile/4/001.p/5", Tile(4, 1, 5)),
        ("tile/entries/x001/x234/067", Tile(0, 1234067, entries=True)),
        ("tile/entries/000.p/255", Tile(0, 0, 255, entries=True)),
    ],
)
def test_parse_tile_path(path, tile):
    assert parse_tile_path(path) == tile
    assert tile.path == path


@pytest.mark.parametrize(
    "path",
    [
        "tile/5/123/456/078",  # missing x prefixes
        "tile/-1/000",
        "tile/64/000",
        "tile/01/000",
        "tile/0/00",
        "tile/0/0000",
        "tile/0/x000/001",  # non-canonical leading zero group
        "tile/0/000.p/0",
        "tile/0/000.p/256",
        "tile/0/000.p/012",
        "tile/0/000.p/",
        "tile/data/000",
        "tile/0/000/",
        "/tile/0/000",
        "tile/3/5/x123/x456/078",  # Go sumdb form with a height element
    ],
)
def test_parse_tile_path_rejects(path):
    with pytest.raises(TileError):
        parse_tile_path(path)


def test_tile_constructor_validation():
    for bad in [dict(level=64, index=0), dict(level=0, index=0, width=0), dict(level=0, index=0, width=257),
                dict(level=0, index=-1), dict(level=1, index=0, entries=True)]:
        with pytest.raises(ValueError):
            Tile(**bad)


# ------------------------------------------------------------------ which tiles exist


def test_tiles_for_size_spec_example_70000():
    tiles = tiles_for_size(70000)
    by_level = {}
    for t in tiles:
        by_level.setdefault(t.level, []).append(t)
    assert sorted(by_level) == [0, 1, 2]
    l0 = by_level[0]
    assert len([t for t in l0 if not t.is_partial]) == 273
    assert [t for t in l0 if t.is_partial] == [Tile(0, 273, 112)]
    assert by_level[1] == [Tile(1, 0), Tile(1, 1, 17)]
    assert by_level[2] == [Tile(2, 0, 1)]


def test_tiles_for_size_256_and_small():
    assert tiles_for_size(256) == [Tile(0, 0), Tile(1, 0, 1)]
    assert tiles_for_size(0) == []
    assert tiles_for_size(1) == [Tile(0, 0, 1)]
    assert tiles_for_size(255) == [Tile(0, 0, 255)]
    assert tiles_for_size(257) == [Tile(0, 0), Tile(0, 1, 1), Tile(1, 0, 1)]
    assert entry_bundles_for_size(257) == [Tile(0, 0, entries=True), Tile(0, 1, 1, entries=True)]
    assert tiles_for_size(65536)[-2:] == [Tile(1, 0), Tile(2, 0, 1)]


def test_new_tiles():
    assert new_tiles(0, 3) == [Tile(0, 0, 3)]
    assert new_tiles(3, 3) == []
    assert new_tiles(255, 256) == [Tile(0, 0), Tile(1, 0, 1)]
    assert new_tiles(256, 300) == [Tile(0, 1, 44)]
    with pytest.raises(ValueError):
        new_tiles(5, 4)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 1 << 17))
def test_tile_widths_follow_formula(size):
    tiles = tiles_for_size(size)
    for t in tiles:
        nodes = size >> (8 * t.level)
        if t.is_partial:
            assert t.width == nodes % 256 and t.index == nodes // 256
        else:
            assert t.index < nodes // 256
        assert t.end <= size
    layout = tile_layout(size)
    assert sum(full + (1 if w else 0) for _, full, w in layout) == len(tiles)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 1 << 18), st.integers(0, 1 << 12))
def test_new_tiles_matches_set_difference(old, delta):
    new = old + delta
    before = set(tiles_for_size(old))
    expected = [t for t in tiles_for_size(new) if t not in before]
    assert new_tiles(old, new) == expected


def test_tile_layout_large():
    assert tile_layout(70000) == [(0, 273, 112), (1, 1, 17), (2, 0, 1)]
    assert tile_layout(1 << 40) == [(0, 1 << 32, 0), (1, 1 << 24, 0), (2, 1 << 16, 0),
                                    (3, 1 << 8, 0), (4, 1, 0), (5, 0, 1)]
    assert tile_layout(0) == []


# ------------------------------------------------------------------ tile contents


@pytest.fixture(scope="module")
def tree_70000():
    store = {}
    cr = CompactRange()
    for i in range(70000):
        for lvl, idx, h in cr.append(leaf_hash(b"e%d" % i)):
            store[(lvl, idx)] = h
    return store, cr


def test_tile_contents_and_root_from_tiles(tree_70000):
    store, cr = tree_70000
    get = lambda l, i: store[(l, i)]  # noqa: E731
    size = cr.size
    data = {t: tile_data(t, get) for t in tiles_for_size(size)}
    assert len(data[Tile(0, 273, 112)]) == 112 * 32
    assert all(len(d) == 32 * t.width for t, d in data.items())
    # each level-1 hash is the MTH of the corresponding full level-0 tile
    for j, h1 in enumerate(split_tile_data(data[Tile(1, 0)], 256)):
        hashes = split_tile_data(data[Tile(0, j)], 256)
        sub = CompactRange()
        sub.extend(hashes)
        assert sub.root() == h1
    # the level-2 partial tile holds MTH of the first 65536 leaves
    assert data[Tile(2, 0, 1)] == get(16, 0)

    # A client that only has the tiles can rebuild any node and the root.
    def node_from_tiles(level, index):
        L, hh = divmod(level, 8)
        first = index << hh  # first node at tree level 8L
        count = 1 << hh
        out = []
        for k in range(first, first + count):
            t_index, off = divmod(k, TILE_WIDTH)
            tile = next(t for t in data if t.level == L and t.index == t_index)
            out.append(split_tile_data(data[tile])[off])
        while len(out) > 1:
            out = [node_hash(out[i], out[i + 1]) for i in range(0, len(out), 2)]
        return out[0]

    assert subtree_hash(0, size, node_from_tiles) == cr.root()


def test_tile_data_rejects_bundles_and_bad_split():
    with pytest.raises(ValueError):
        tile_data(Tile(0, 0, entries=True), lambda l, i: b"\x00" * 32)
    with pytest.raises(TileError):
        split_tile_data(b"\x00" * 33)
    with pytest.raises(TileError):
        split_tile_data(b"")
    with pytest.raises(TileError):
        split_tile_data(b"\x00" * 64, width=3)
    with pytest.raises(TileError):
        split_tile_data(b"\x00" * 32 * 257)


# ------------------------------------------------------------------ entry bundles


def test_entry_bundle_round_trip_and_hashes():
    entries = [b"", b"a", b"x" * 300, bytes(range(256))]
    data = encode_entry_bundle(entries)
    assert data[:2] == b"\x00\x00" and data[2:5] == b"\x00\x01a"
    assert data[5:7] == (300).to_bytes(2, "big")
    assert decode_entry_bundle(data) == entries
    assert decode_entry_bundle(b"") == []
    # bundle entries hash to the level-0 tile
    cr = CompactRange()
    nodes = cr.extend(leaf_hash(e) for e in entries)
    store = {(l, i): h for l, i, h in nodes}
    t = Tile(0, 0, len(entries))
    assert split_tile_data(tile_data(t, lambda l, i: store[(l, i)])) == [
        leaf_hash(e) for e in decode_entry_bundle(data)
    ]


def test_entry_bundle_errors():
    with pytest.raises(ValueError, match="65535"):
        encode_entry_bundle([b"x" * 65536])
    encode_entry_bundle([b"x" * 65535])
    with pytest.raises(ValueError):
        encode_entry_bundle([b""] * 257)
    with pytest.raises(TileError, match="length prefix"):
        decode_entry_bundle(b"\x00")
    with pytest.raises(TileError, match="inside an entry"):
        decode_entry_bundle(b"\x00\x05abc")
    with pytest.raises(TileError, match="more than 256"):
        decode_entry_bundle(b"\x00\x00" * 257)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.binary(max_size=600), max_size=256))
def test_entry_bundle_property(entries):
    assert decode_entry_bundle(encode_entry_bundle(entries)) == entries

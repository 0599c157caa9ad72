"""RFC 6962 / RFC 9162 Merkle tree hashing, proofs and proof verification.

Everything here follows RFC 9162 section 2.1 (which restates RFC 6962
section 2.1 for SHA-256):

* leaf hash      ``SHA-256(0x00 || entry)``                  (RFC 9162 2.1.1)
* interior node  ``SHA-256(0x01 || left || right)``          (RFC 9162 2.1.1)
* Merkle Tree Hash (MTH) of ``n`` leaves, split at the largest power of two
  smaller than ``n``                                          (RFC 9162 2.1.1)
* inclusion proofs (audit paths)        generation 2.1.3.1, verification 2.1.3.2
* consistency proofs                    generation 2.1.4.1, verification 2.1.4.2

Storage model
-------------
Proof generation never needs the leaves.  It reads *perfect subtrees* through a
callback ``get_node(level, index) -> bytes`` which must return the 32-byte hash
of the perfect subtree of ``2**level`` leaves that starts at leaf
``index * 2**level`` (level 0 = leaf hashes).  Those are exactly the nodes that
:class:`CompactRange` reports as it grows, so an application can persist them
(e.g. one row per node) and every proof costs O(log n) reads.

Errors
------
Bad arguments (negative numbers, ``index >= size``, non-integers, hashes of the
wrong length) raise :class:`ValueError` (or :class:`TypeError` for a value of
the wrong type).  A proof that does not verify raises :class:`ProofError`, a
subclass of :class:`ValueError`, whose message says which check failed.
"""

from __future__ import annotations

import hashlib
from typing import Callable, Iterable, List, Sequence, Tuple

__all__ = [
    "HASH_SIZE",
    "EMPTY_ROOT",
    "MAX_PROOF_LENGTH",
    "ProofError",
    "GetNode",
    "leaf_hash",
    "node_hash",
    "root_hash",
    "root_from_entries",
    "subtree_hash",
    "inclusion_proof",
    "consistency_proof",
    "root_from_inclusion_proof",
    "verify_inclusion",
    "verify_consistency",
    "consistency_roots",
    "CompactRange",
]

#: Size in bytes of every hash in the tree (SHA-256).
HASH_SIZE = 32

#: MTH of the empty tree: ``SHA-256("")`` (RFC 9162 2.1.1).
EMPTY_ROOT = hashlib.sha256(b"").digest()

#: A tree of at most 2**64 leaves never needs more than 64 proof hashes.
MAX_PROOF_LENGTH = 64

#: Largest tree size / index accepted (sizes are uint64 in every spec used here).
_MAX_UINT64 = (1 << 64) - 1

#: ``get_node(level, index) -> 32-byte hash`` of the perfect subtree covering
#: leaves ``[index * 2**level, (index + 1) * 2**level)``.
GetNode = Callable[[int, int], bytes]

_sha256 = hashlib.sha256


class ProofError(ValueError):
    """A Merkle inclusion or consistency proof failed to verify.

    Subclass of :class:`ValueError`; the message names the failed check
    (e.g. ``"inclusion proof: computed root does not match the expected root"``).
    """


# --------------------------------------------------------------------------
# argument checking helpers


def _check_int(what: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int, got {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{what} must be non-negative, got {value}")
    if value > _MAX_UINT64:
        raise ValueError(f"{what} must fit in 64 bits, got {value}")
    return value


def _check_hash(what: str, value: object, error: type = ValueError) -> bytes:
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise TypeError(f"{what} must be bytes, got {type(value).__name__}")
    value = bytes(value)
    if len(value) != HASH_SIZE:
        raise error(f"{what} must be {HASH_SIZE} bytes, got {len(value)}")
    return value


def _largest_pow2_below(n: int) -> int:
    """Largest power of two strictly smaller than ``n`` (``n >= 2``)."""
    return 1 << ((n - 1).bit_length() - 1)


# --------------------------------------------------------------------------
# hashing (RFC 9162 2.1.1)


def leaf_hash(entry: bytes) -> bytes:
    """Return the RFC 6962 leaf hash ``SHA-256(0x00 || entry)``.

    Args:
        entry: the raw log entry bytes (any length, may be empty).
    Returns:
        32-byte digest.
    Raises:
        TypeError: ``entry`` is not bytes-like.
    Spec: RFC 9162 section 2.1.1 (``MTH({d(0)}) = HASH(0x00 || d(0))``).
    """
    if not isinstance(entry, (bytes, bytearray, memoryview)):
        raise TypeError(f"entry must be bytes, got {type(entry).__name__}")
    return _sha256(b"\x00" + bytes(entry)).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return the RFC 6962 interior node hash ``SHA-256(0x01 || left || right)``.

    Args:
        left, right: 32-byte child hashes.
    Returns:
        32-byte digest.
    Raises:
        ValueError: a child is not 32 bytes.
    Spec: RFC 9162 section 2.1.1.
    """
    if len(left) != HASH_SIZE or len(right) != HASH_SIZE:
        raise ValueError(
            f"node_hash children must be {HASH_SIZE} bytes, got {len(left)} and {len(right)}"
        )
    return _sha256(b"\x01" + left + right).digest()


def _node(left: bytes, right: bytes) -> bytes:
    # Unchecked fast path for internal use (inputs already validated).
    return _sha256(b"\x01" + left + right).digest()


def root_hash(leaf_hashes: Sequence[bytes]) -> bytes:
    """Return the Merkle Tree Hash (MTH) of a list of *leaf hashes*.

    Args:
        leaf_hashes: sequence of 32-byte leaf hashes (``leaf_hash(entry)``),
            in log order.  May be empty.
    Returns:
        32-byte root; :data:`EMPTY_ROOT` for an empty list.
    Raises:
        ValueError: an element is not 32 bytes.
    Spec: RFC 9162 section 2.1.1 (MTH).  Runs in O(n) time, O(log n) memory.
    """
    cr = CompactRange()
    for h in leaf_hashes:
        cr.append(h)
    return cr.root()


def root_from_entries(entries: Iterable[bytes]) -> bytes:
    """Return the MTH of raw entries (each is leaf-hashed first).

    Args:
        entries: iterable of entry byte strings.
    Returns:
        32-byte root (:data:`EMPTY_ROOT` when there are no entries).
    Spec: RFC 9162 section 2.1.1.
    """
    cr = CompactRange()
    for e in entries:
        cr.append(leaf_hash(e))
    return cr.root()


# --------------------------------------------------------------------------
# composing stored perfect subtrees


def _perfect(start: int, level: int, get_node: GetNode) -> bytes:
    """Hash of the perfect subtree of 2**level leaves starting at ``start``."""
    if start & ((1 << level) - 1) == 0:
        h = get_node(level, start >> level)
        if not isinstance(h, (bytes, bytearray)) or len(h) != HASH_SIZE:
            raise ValueError(
                f"get_node({level}, {start >> level}) returned {h!r}, expected {HASH_SIZE} bytes"
            )
        return bytes(h)
    # Not aligned: not a stored node, compose it from its two halves.
    half = level - 1
    return _node(
        _perfect(start, half, get_node), _perfect(start + (1 << half), half, get_node)
    )


def subtree_hash(start: int, end: int, get_node: GetNode) -> bytes:
    """Return ``MTH(D[start:end])`` composed from stored perfect subtrees.

    The range is split into perfect subtrees of decreasing power-of-two sizes
    (the binary decomposition of ``end - start``), which are then folded from
    the right, exactly as the recursive MTH definition does.  When ``start``
    is a multiple of the largest of those sizes (always the case for the
    ranges used by :func:`inclusion_proof` / :func:`consistency_proof`), each
    piece is one ``get_node`` read, so the cost is at most ``log2(n) + 1``
    reads.  Unaligned ranges are still correct but read smaller nodes.

    Args:
        start: first leaf index (inclusive), ``>= 0``.
        end: last leaf index (exclusive), ``> start``.
        get_node: ``get_node(level, index) -> bytes`` (see module docstring).
    Returns:
        32-byte hash.
    Raises:
        ValueError: ``start < 0`` or ``end <= start``; ``get_node`` returned
            something that is not 32 bytes.
    Spec: RFC 9162 section 2.1.1 (MTH).
    """
    _check_int("start", start)
    _check_int("end", end)
    if end <= start:
        raise ValueError(f"subtree_hash needs start < end, got [{start}, {end})")
    pieces: List[bytes] = []
    s = start
    while s < end:
        level = (end - s).bit_length() - 1  # largest power of two <= remaining
        pieces.append(_perfect(s, level, get_node))
        s += 1 << level
    h = pieces[-1]
    for p in reversed(pieces[:-1]):
        h = _node(p, h)
    return h


# --------------------------------------------------------------------------
# proof generation (RFC 9162 2.1.3.1 / 2.1.4.1)


def inclusion_proof(index: int, size: int, get_node: GetNode) -> List[bytes]:
    """Return the inclusion proof (audit path) for leaf ``index`` in a tree of ``size``.

    Args:
        index: zero-based leaf index, ``0 <= index < size``.
        size: tree size (number of leaves), ``>= 1``.
        get_node: ``get_node(level, index) -> bytes`` for perfect subtrees that
            lie entirely inside ``[0, size)``.
    Returns:
        List of 32-byte hashes ordered from the leaf's sibling up to the
        root's child (empty when ``size == 1``).  Costs O(log size) reads.
    Raises:
        ValueError: ``index >= size``, negative arguments, ``size == 0``.
    Spec: RFC 9162 section 2.1.3.1 (``PATH(m, D[n])``).
    """
    _check_int("index", index)
    _check_int("size", size)
    if size == 0:
        raise ValueError("inclusion_proof: tree size must be at least 1")
    if index >= size:
        raise ValueError(f"inclusion_proof: index {index} is not below tree size {size}")
    proof: List[bytes] = []
    start, end = 0, size
    while end - start > 1:
        mid = start + _largest_pow2_below(end - start)
        if index < mid:
            proof.append(subtree_hash(mid, end, get_node))
            end = mid
        else:
            proof.append(subtree_hash(start, mid, get_node))
            start = mid
    proof.reverse()
    return proof


def consistency_proof(old_size: int, new_size: int, get_node: GetNode) -> List[bytes]:
    """Return the consistency proof between tree sizes ``old_size`` and ``new_size``.

    Args:
        old_size: size of the earlier tree, ``0 <= old_size <= new_size``.
        new_size: size of the later tree.
        get_node: ``get_node(level, index) -> bytes`` for perfect subtrees inside
            ``[0, new_size)``.
    Returns:
        List of 32-byte hashes (``PROOF(m, D[n])``); empty when
        ``old_size == 0`` or ``old_size == new_size`` (as tlog-witness requires
        for old size 0).  Costs O(log new_size) reads.
    Raises:
        ValueError: ``old_size > new_size`` or negative arguments.
    Spec: RFC 9162 section 2.1.4.1 (``SUBPROOF(m, D[n], b)``).
    """
    _check_int("old_size", old_size)
    _check_int("new_size", new_size)
    if old_size > new_size:
        raise ValueError(
            f"consistency_proof: old size {old_size} is larger than new size {new_size}"
        )
    if old_size == 0 or old_size == new_size:
        return []
    proof: List[bytes] = []
    m = old_size  # relative to ``start``
    start, end = 0, new_size
    complete = True  # the ``b`` flag of SUBPROOF
    while True:
        n = end - start
        if m == n:
            if not complete:
                proof.append(subtree_hash(start, end, get_node))
            break
        k = _largest_pow2_below(n)
        if m <= k:
            proof.append(subtree_hash(start + k, end, get_node))
            end = start + k
        else:
            proof.append(subtree_hash(start, start + k, get_node))
            start += k
            m -= k
            complete = False
    proof.reverse()
    return proof


# --------------------------------------------------------------------------
# proof verification (RFC 9162 2.1.3.2 / 2.1.4.2)


def _check_proof(kind: str, proof: Sequence[bytes]) -> List[bytes]:
    if isinstance(proof, (bytes, bytearray, str)):
        raise TypeError(f"{kind} proof must be a sequence of hashes, not {type(proof).__name__}")
    out = list(proof)
    if len(out) > MAX_PROOF_LENGTH:
        raise ProofError(f"{kind} proof has {len(out)} hashes, more than {MAX_PROOF_LENGTH}")
    for i, p in enumerate(out):
        if not isinstance(p, (bytes, bytearray, memoryview)):
            raise ProofError(f"{kind} proof element {i} is not bytes")
        if len(p) != HASH_SIZE:
            raise ProofError(f"{kind} proof element {i} is {len(p)} bytes, expected {HASH_SIZE}")
        out[i] = bytes(p)
    return out


def root_from_inclusion_proof(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes]
) -> bytes:
    """Compute the root implied by an inclusion proof (RFC 9162 2.1.3.2 steps 1-5).

    Args:
        leaf_hash: 32-byte leaf hash (``leaf_hash(entry)``).
        index: zero-based leaf index.
        size: tree size the proof is for.
        proof: sequence of 32-byte hashes, leaf sibling first.
    Returns:
        The 32-byte root the proof leads to.
    Raises:
        ProofError: ``index >= size``, a hash of the wrong length, or a proof
            that is too long or too short for ``(index, size)``.
    Spec: RFC 9162 section 2.1.3.2.
    """
    _check_int("index", index)
    _check_int("size", size)
    if index >= size:
        raise ProofError(f"inclusion proof: index {index} is not below tree size {size}")
    r = _check_hash("leaf hash", leaf_hash, ProofError)
    path = _check_proof("inclusion", proof)
    fn, sn = index, size - 1
    for p in path:
        if sn == 0:
            raise ProofError(
                f"inclusion proof is too long for index {index} in a tree of size {size}"
            )
        if fn & 1 or fn == sn:
            r = _node(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = _node(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError(
            f"inclusion proof is too short for index {index} in a tree of size {size}"
        )
    return r


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Verify that ``leaf_hash`` is leaf ``index`` of the tree of ``size`` with ``root``.

    Args:
        leaf_hash: 32-byte leaf hash.
        index: zero-based leaf index, must be ``< size``.
        size: tree size.
        proof: audit path (sequence of 32-byte hashes, leaf sibling first).
        root: expected 32-byte root hash.
    Returns:
        None on success.
    Raises:
        ProofError: the proof does not verify (message names the failed check),
            including ``index >= size`` and malformed hashes.
    Spec: RFC 9162 section 2.1.3.2.
    """
    expected = _check_hash("root", root, ProofError)
    got = root_from_inclusion_proof(leaf_hash, index, size, proof)
    if got != expected:
        raise ProofError(
            f"inclusion proof for index {index} in tree of size {size}: "
            "computed root does not match the expected root"
        )


def verify_consistency(
    old_size: int,
    new_size: int,
    old_root: bytes,
    new_root: bytes,
    proof: Sequence[bytes],
) -> None:
    """Verify that the tree ``(new_size, new_root)`` extends ``(old_size, old_root)``.

    Special cases (as in the C2SP tlog-witness protocol and the Go/CT
    reference verifiers): ``old_size == new_size`` requires an empty proof and
    equal roots; ``0 == old_size < new_size`` requires an empty proof (every
    tree extends the empty tree; ``old_root`` is not inspected).

    Args:
        old_size: size of the older tree.
        new_size: size of the newer tree, ``>= old_size``.
        old_root: 32-byte root of the older tree.
        new_root: 32-byte root of the newer tree.
        proof: consistency proof, sequence of 32-byte hashes.
    Returns:
        None on success.
    Raises:
        ProofError: ``old_size > new_size``, malformed hashes, or the proof
            does not verify (message names the failed check).
    Spec: RFC 9162 section 2.1.4.2.
    """
    _check_int("old_size", old_size)
    _check_int("new_size", new_size)
    path = _check_proof("consistency", proof)
    if old_size > new_size:
        raise ProofError(
            f"consistency proof: old size {old_size} is larger than new size {new_size}"
        )
    new_root = _check_hash("new root", new_root, ProofError)
    if old_size == new_size:
        old_root = _check_hash("old root", old_root, ProofError)
        if path:
            raise ProofError("consistency proof between equal sizes must be empty")
        if old_root != new_root:
            raise ProofError(f"roots differ for the same tree size {old_size}")
        return
    if old_size == 0:
        if path:
            raise ProofError("consistency proof from an empty tree must be empty")
        return
    old_root = _check_hash("old root", old_root, ProofError)
    fr, sr = _consistency_roots(old_size, new_size, old_root, path)
    if fr != old_root:
        raise ProofError(
            f"consistency proof from {old_size} to {new_size}: old root does not match"
        )
    if sr != new_root:
        raise ProofError(
            f"consistency proof from {old_size} to {new_size}: new root does not match"
        )


def consistency_roots(
    old_size: int, new_size: int, old_root: bytes, proof: Sequence[bytes]
) -> Tuple[bytes, bytes]:
    """The two roots a consistency proof commits to: ``(root of the first old_size leaves,
    root of the new_size leaves)``, computed as RFC 9162 section 2.1.4.2 verifies.

    :func:`verify_consistency` checks both against expected roots. A monitor uses this to
    turn a proof the log itself served into evidence: if the new root is the one a log signed
    for ``new_size`` but the old root differs from the one it signed for ``old_size``, the two
    signed checkpoints cannot both be true. When ``old_size`` is a power of two the proof does
    not carry the old root (the verifier knows it): ``old_root`` is then returned as given.

    Args:
        old_size: ``0 < old_size < new_size``.
        new_size: size of the newer tree.
        old_root: the 32-byte root expected for ``old_size`` (used only when it is a power of two).
        proof: consistency proof, sequence of 32-byte hashes.
    Returns:
        ``(old root, new root)`` as 32-byte values.
    Raises:
        ProofError: sizes out of range, malformed hashes, or a proof of the wrong length.
    """
    _check_int("old_size", old_size)
    _check_int("new_size", new_size)
    if not 0 < old_size < new_size:
        raise ProofError(f"consistency roots need 0 < old size < new size, got {old_size} and {new_size}")
    return _consistency_roots(old_size, new_size, _check_hash("old root", old_root, ProofError),
                              _check_proof("consistency", proof))


def _consistency_roots(old_size: int, new_size: int, old_root: bytes, path: List[bytes]) -> Tuple[bytes, bytes]:
    """RFC 9162 2.1.4.2 steps 1-7 for ``0 < old_size < new_size``; returns ``(fr, sr)``."""
    path = list(path)
    # RFC 9162 2.1.4.2 step 1
    if not path:
        raise ProofError(
            f"consistency proof from {old_size} to {new_size} must not be empty"
        )
    # step 2: if first is an exact power of 2, prepend first_hash
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    # step 3
    fn, sn = old_size - 1, new_size - 1
    # step 4
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # step 5
    fr = sr = path[0]
    # step 6
    for c in path[1:]:
        if sn == 0:
            raise ProofError(
                f"consistency proof from {old_size} to {new_size} is too long"
            )
        if fn & 1 or fn == sn:
            fr = _node(c, fr)
            sr = _node(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = _node(sr, c)
        fn >>= 1
        sn >>= 1
    # step 7
    if sn != 0:
        raise ProofError(f"consistency proof from {old_size} to {new_size} is too short")
    return fr, sr


# --------------------------------------------------------------------------
# incremental builder


class CompactRange:
    """Incremental Merkle tree builder over the range ``[0, size)``.

    Keeps only the O(log n) "peaks": the roots of the perfect subtrees given by
    the binary decomposition of ``size`` (largest first).  Every
    :meth:`append` returns the perfect-subtree nodes it completed, as
    ``(level, index, hash)`` triples, which is exactly what ``get_node`` must
    later serve to :func:`inclusion_proof` / :func:`consistency_proof` /
    :func:`subtree_hash`.

    Example::

        store = {}
        cr = CompactRange()
        for entry in entries:
            for level, index, h in cr.append(leaf_hash(entry)):
                store[(level, index)] = h
        root = cr.root()
        proof = inclusion_proof(3, cr.size, lambda l, i: store[(l, i)])

    Spec: RFC 9162 section 2.1.1 (MTH); the node layout is the one used by
    C2SP tlog-tiles (level ``8*L`` nodes are the hashes in level-``L`` tiles).
    """

    __slots__ = ("_size", "_peaks")

    def __init__(self) -> None:
        """Create an empty range (size 0)."""
        self._size = 0
        self._peaks: List[bytes] = []

    @classmethod
    def from_storage(cls, size: int, get_node: GetNode) -> "CompactRange":
        """Resume a builder at ``size`` leaves from stored nodes.

        Args:
            size: number of leaves already appended, ``>= 0``.
            get_node: ``get_node(level, index) -> bytes`` (stored nodes).
        Returns:
            A :class:`CompactRange` whose :meth:`root` equals ``MTH(D[0:size])``;
            reads ``popcount(size)`` nodes.
        Raises:
            ValueError: negative ``size`` or a stored node that is not 32 bytes.
        """
        _check_int("size", size)
        cr = cls()
        start = 0
        for level in range(size.bit_length() - 1, -1, -1):
            if size >> level & 1:
                cr._peaks.append(_perfect(start, level, get_node))
                start += 1 << level
        cr._size = size
        return cr

    @property
    def size(self) -> int:
        """Number of leaves appended so far."""
        return self._size

    def peaks(self) -> List[Tuple[int, int, bytes]]:
        """Return the current peaks as ``(level, index, hash)``, largest first."""
        out = []
        start = 0
        it = iter(self._peaks)
        for level in range(self._size.bit_length() - 1, -1, -1):
            if self._size >> level & 1:
                out.append((level, start >> level, next(it)))
                start += 1 << level
        return out

    def append(self, leaf_hash: bytes) -> List[Tuple[int, int, bytes]]:
        """Append one leaf hash and return the nodes it completed.

        Args:
            leaf_hash: 32-byte leaf hash (``leaf_hash(entry)``).
        Returns:
            List of ``(level, index, hash)``: always the leaf itself
            ``(0, old_size, leaf_hash)`` followed by every interior perfect
            subtree completed by this append (one per trailing 1-bit of the old
            size), lowest level first.
        Raises:
            ValueError: ``leaf_hash`` is not 32 bytes.
        """
        h = _check_hash("leaf hash", leaf_hash)
        index = self._size
        completed = [(0, index, h)]
        peaks = self._peaks
        level = 0
        s = index
        while s & 1:
            h = _node(peaks.pop(), h)
            level += 1
            completed.append((level, index >> level, h))
            s >>= 1
        peaks.append(h)
        self._size = index + 1
        return completed

    def extend(self, leaf_hashes: Iterable[bytes]) -> List[Tuple[int, int, bytes]]:
        """Append several leaf hashes; return all completed nodes in order."""
        out: List[Tuple[int, int, bytes]] = []
        for h in leaf_hashes:
            out.extend(self.append(h))
        return out

    def root(self) -> bytes:
        """Return ``MTH(D[0:size])`` (32 bytes); :data:`EMPTY_ROOT` when empty."""
        if not self._peaks:
            return EMPTY_ROOT
        h = self._peaks[-1]
        for p in reversed(self._peaks[:-1]):
            h = _node(p, h)
        return h

    def copy(self) -> "CompactRange":
        """Return an independent copy of this builder."""
        c = CompactRange()
        c._size = self._size
        c._peaks = list(self._peaks)
        return c

    def __repr__(self) -> str:
        return f"CompactRange(size={self._size}, root={self.root().hex()[:16]}...)"

"""Pure transparency-log library for the notary plugin (no Flask, no database).

Modules:

* :mod:`.merkle`      RFC 6962 / RFC 9162 section 2.1 hashing, proofs, verification,
                      incremental builder (:class:`.merkle.CompactRange`)
* :mod:`.note`        C2SP signed-note (Ed25519 keys, sign / open)
* :mod:`.checkpoint`  C2SP tlog-checkpoint
* :mod:`.cosignature` C2SP tlog-cosignature v1 (Ed25519, type 0x04)
* :mod:`.witness`     C2SP tlog-witness add-checkpoint logic
* :mod:`.tiles`       C2SP tlog-tiles paths, tile contents, entry bundles
* :mod:`.proof`       C2SP tlog-proof receipts and offline verification
* :mod:`.policy`      C2SP tlog-policy parsing and quorum evaluation

Every error raised for bad input is a :class:`ValueError` subclass
(``ProofError``, ``NoteError``, ``CheckpointError``, ``CosignatureError``,
``WitnessRequestError``, ``TileError``, ``ReceiptError``, ``PolicyError``).
"""

from . import checkpoint, cosignature, merkle, note, policy, proof, tiles, witness

__all__ = ["checkpoint", "cosignature", "merkle", "note", "policy", "proof", "tiles", "witness"]

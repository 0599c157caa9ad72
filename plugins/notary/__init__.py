"""Notary plugin: a signed, append-only transparency log of every publication (RFC 6962, C2SP)."""
__version__ = "0.1.0"

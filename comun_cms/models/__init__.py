"""Core models and mixins. Plugins import the mixins from here."""
from comun_cms.models.base import REBUILT_ON_RESET, Publishable, TenantScoped, Timestamped, UTCDateTime, utcnow
from comun_cms.models.core import (
    ROLES, Attachment, AuditEvent, CacheGeneration, Draft, Feedback, FolioCounter, Invitation, MailOutbox,
    Membership, Page, Publication, SearchOutbox, TenantRow, TenantSettings, User,
)

__all__ = [
    "REBUILT_ON_RESET", "Publishable", "TenantScoped", "Timestamped", "UTCDateTime", "utcnow", "ROLES", "Attachment",
    "AuditEvent", "CacheGeneration", "Draft", "Feedback", "FolioCounter", "Invitation", "MailOutbox", "Membership",
    "Page", "Publication", "SearchOutbox", "TenantRow", "TenantSettings", "User",
]

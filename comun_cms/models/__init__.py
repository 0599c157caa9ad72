"""Core models and mixins. Plugins import the mixins from here."""
from comun_cms.models.base import REBUILT_ON_RESET, Publishable, TenantScoped, Timestamped, UTCDateTime, utcnow
from comun_cms.models.core import (
    ROLES, ArcoRequest, Attachment, AuditEvent, CacheGeneration, Draft, Feedback, FolioCounter, Invitation,
    MailOutbox, Membership, Page, Publication, SearchOutbox, StoredChunk, TenantRow, TenantSettings, User,
)
from comun_cms.models.subscriptions import Subscription, SubscriptionItem

__all__ = [
    "REBUILT_ON_RESET", "Publishable", "TenantScoped", "Timestamped", "UTCDateTime", "utcnow", "ROLES", "ArcoRequest",
    "Attachment", "AuditEvent", "CacheGeneration", "Draft", "Feedback", "FolioCounter", "Invitation", "MailOutbox",
    "Membership", "Page", "Publication", "SearchOutbox", "StoredChunk", "TenantRow", "TenantSettings", "User", "Subscription", "SubscriptionItem",
]

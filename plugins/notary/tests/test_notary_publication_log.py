"""The notary's ``publication_log`` hook (services.log_slice): consecutive entries of the current
tenant's log by leaf index, never past the committed head size."""
from __future__ import annotations

from sqlalchemy import select

from comun_cms.toolkit import LogSlice, db, tenant_context
from comun_cms.toolkit.testing import get_pm, get_tenant
from plugins.notary import services
from plugins.notary.models import Entry, LogHead


def test_log_slice_pages_by_leaf_index_per_tenant(app, publish_page):
    for i in range(4):
        publish_page(f"e{i}")
    publish_page("h0", tenant="hidalgo")
    edomex = get_tenant(app, "edomex")
    with tenant_context(edomex):
        rows = db.session.execute(select(Entry.index, Entry.publication_id, Entry.leaf_hash).order_by(Entry.index)).all()
        whole = services.log_slice(0, 100)
        assert isinstance(whole, LogSlice) and whole.size == 4
        assert [(e.index, e.publication_id, e.entry_hash) for e in whole.entries] == [tuple(r) for r in rows]
        assert [e.index for e in services.log_slice(1, 2).entries] == [1, 2]
        assert services.log_slice(4, 10) == LogSlice(entries=(), size=4)
        # the hook, as the core calls it (first result wins)
        hook = get_pm().hook.publication_log
        assert hook(tenant=edomex, start=3, limit=5) == services.log_slice(3, 5)
    with tenant_context(get_tenant(app, "hidalgo")):
        assert [e.index for e in services.log_slice(0, 100).entries] == [0]


def test_log_slice_never_reads_past_the_head_size(app, publish_page):
    """Entries above the head's size (rows a reader would meet if it did not bound its read by the
    committed size) are not served: here the head is set back by one."""
    for i in range(3):
        publish_page(f"p{i}")
    with tenant_context(get_tenant(app, "edomex")):
        head = db.session.scalar(select(LogHead))
        head.size = 2
        db.session.flush()
        assert db.session.scalar(select(Entry.index).order_by(Entry.index.desc()).limit(1)) == 2
        page = services.log_slice(0, 10)
        assert page.size == 2 and [e.index for e in page.entries] == [0, 1]
        db.session.rollback()

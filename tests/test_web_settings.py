"""Tenant settings on the web (``comun_cms.web_settings`` and ``/<slug>/admin/configuracion``):
stored over tenant.toml, contrast-checked colours, versioned in the audit log, tenant admin only."""
from __future__ import annotations

import re

import io

import pytest
from PIL import Image
from sqlalchemy import func, select

from comun_cms import web_settings
from comun_cms.extensions import db
from comun_cms.models import AuditEvent, TenantSettings
from comun_cms.tenancy import tenant_context
from comun_cms.testing import get_tenant

URL = "/edomex/admin/configuracion"


@pytest.fixture
def english(client):
    with client.session_transaction() as sess:
        sess["lang"] = "en"


def form_data(app, tenant="edomex", **overrides) -> dict:
    """The settings form as the page fills it (the current values), with ``overrides``."""
    with app.test_request_context(), tenant_context(get_tenant(app, tenant)):
        values = web_settings.web_values(get_tenant(app, tenant))
    data = {f"{section}_{key}": "" if value is None else value
            for section, keys in values.items() for key, value in keys.items()}
    data.update(overrides)
    return data


def count(app, model, *where, tenant="edomex") -> int:
    db.session.expire_all()
    with tenant_context(get_tenant(app, tenant)):
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def png(colour=(20, 60, 100)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (96, 96), colour).save(buffer, "PNG")
    return buffer.getvalue()


def test_contrast_ratio_follows_wcag():
    assert web_settings.contrast_ratio("#000000", "#ffffff") == pytest.approx(21.0)
    assert web_settings.contrast_ratio("#ffffff", "#ffffff") == pytest.approx(1.0)
    assert web_settings.contrast_ratio("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)  # just fails 4.5
    assert web_settings.contrast_ratio("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)  # just passes


@pytest.mark.parametrize("slug", ["hidalgo", "puebla", "edomex"])
def test_the_colours_of_every_state_file_pass_the_check(app, slug):
    with app.test_request_context():
        assert web_settings.colour_problems(get_tenant(app, slug).colors) == {}


def test_admin_changes_contact_and_the_public_site_shows_it(app, client, login_as, english):
    login_as("admin")
    response = client.post(URL, data=form_data(app, contact_email="contacto@sesaemm.test", contact_phone="722 000 1111",
                                                social_x="https://x.com/sesaemm", deadlines_feedback_days="7",
                                                privacy_officer="Unidad de Transparencia",
                                                privacy_notice_url="https://sesaemm.test/aviso"))
    assert response.status_code == 303
    home = client.get("/edomex/").get_data(as_text=True)
    assert "contacto@sesaemm.test" in home and "722 000 1111" in home and "https://x.com/sesaemm" in home
    feedback = client.get("/edomex/seccion/feedback").get_data(as_text=True)
    assert "within 7 business days" in feedback and "Unidad de Transparencia" in feedback
    assert 'href="https://sesaemm.test/aviso"' in feedback
    # the file's values not changed on the web stay
    assert "Av. José María Morelos" in home

    [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "settings.update")
                                 .execution_options(all_tenants=True)).all()
    assert event.tenant_id == "edomex" and event.object_id == "edomex"
    assert event.before["contact"]["email"] != "contacto@sesaemm.test"
    assert event.after["contact"]["email"] == "contacto@sesaemm.test"
    assert event.after["deadlines"]["feedback_days"] == 7

    # a second change is a second version in the audit log, listed on the page
    assert client.post(URL, data=form_data(app, contact_phone="722 000 2222")).status_code == 303
    assert count(app, AuditEvent, AuditEvent.action == "settings.update") == 2
    html = client.get(URL).get_data(as_text=True)
    assert "Last changes" in html and "Changed: Phone" in html


def test_a_colour_pair_failing_contrast_is_refused_and_nothing_is_stored(app, client, login_as, english):
    login_as("admin")
    response = client.post(URL, data=form_data(app, colors_primary="#f0e68c", contact_phone="1"))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Main colour (header, buttons and links)" in html and "at least 4.5:1 is needed" in html
    assert count(app, TenantSettings) == 0 and count(app, AuditEvent) == 0
    light_text = client.post(URL, data=form_data(app, colors_text_on_primary="#777777"))
    assert light_text.status_code == 422 and "Text colour on the main colour" in light_text.get_data(as_text=True)
    assert count(app, TenantSettings) == 0


@pytest.mark.parametrize("field,value,message", [
    ("colors_accent", "verde", "Write the colour as # and six hexadecimal digits"),
    ("contact_email", "no-es-correo", "E-mail"),
    ("social_facebook", "javascript:alert(1)", "starts with https://"),
    ("deadlines_join_days", "0", "from 1 to 60"),
    ("deadlines_feedback_days", "", "Write a number of business days"),
])
def test_bad_values_name_the_field_and_store_nothing(app, client, login_as, english, field, value, message):
    login_as("admin")
    response = client.post(URL, data=form_data(app, **{field: value}))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html and f'href="#{field}"' in html
    assert count(app, TenantSettings) == 0


def test_labels_are_words_not_keys(app, client, login_as, spanish):
    login_as("admin")
    html = client.get(URL).get_data(as_text=True)
    main = html.split("<main", 1)[1]
    for raw in (">accent<", ">address<", ">primary<", ">feedback_days<", "<code>accent</code>"):
        assert raw not in main, raw
    assert "Color principal" in main and "Correo electrónico" in main and "Días para responder" in main


def test_settings_are_for_the_tenant_admin_only(app, client, login_as, make_user):
    login_as("editor")
    assert client.get(URL).status_code == 403
    assert client.post(URL, data=form_data(app, contact_email="x@y.test")).status_code == 403
    login_as("admin", tenant="puebla")
    assert client.get(URL).status_code == 403
    assert client.post(URL, data=form_data(app, contact_email="robado@puebla.test")).status_code == 403
    # puebla's own change does not reach edomex
    assert client.post("/puebla/admin/configuracion",
                       data=form_data(app, "puebla", contact_email="hola@puebla.test")).status_code == 303
    assert count(app, TenantSettings, tenant="edomex") == 0 and count(app, TenantSettings, tenant="puebla") == 1
    assert "hola@puebla.test" in client.get("/puebla/").get_data(as_text=True)
    assert "hola@puebla.test" not in client.get("/edomex/").get_data(as_text=True)


def test_logo_upload_replaces_the_file_logo_until_reset(app, client, login_as, english):
    login_as("admin")
    file_logo = client.get("/edomex/logo").get_data()
    image = png()
    response = client.post(URL, data={**form_data(app), "logo": (io.BytesIO(image), "logo nuevo.png")},
                           content_type="multipart/form-data")
    assert response.status_code == 303
    served = client.get("/edomex/logo")
    assert served.status_code == 200 and served.get_data() == image and served.mimetype == "image/png"
    assert client.get("/puebla/logo").get_data() != image

    bad = client.post(URL, data={**form_data(app), "logo": (io.BytesIO(b"%PDF-1.4 not an image"), "logo.png")},
                      content_type="multipart/form-data")
    assert bad.status_code == 422 and "New logo" in bad.get_data(as_text=True)
    assert client.get("/edomex/logo").get_data() == image

    assert client.post(URL, data={**form_data(app), "logo_reset": "y"}).status_code == 303
    assert client.get("/edomex/logo").get_data() == file_logo


def test_the_portal_shows_the_colour_changed_on_the_web(app, client, login_as):
    login_as("admin")
    assert client.post(URL, data=form_data(app, colors_primary="#123456")).status_code == 303
    # the portal's colours come from its stylesheet (no inline style under the CSP), linked by a
    # versioned address that changes with them
    css_url = re.search(r'href="(/theme-colors\.css[^"]*)"', client.get("/").get_data(as_text=True)).group(1)
    assert "#123456" in client.get(css_url.replace("&amp;", "&")).get_data(as_text=True)

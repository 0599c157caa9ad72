from comun_cms.toolkit import content_types, publish, tenant_context
from comun_cms.toolkit.testing import get_tenant

from plugins.cocreation.tests.test_origin import commitments, convert, make_minute  # noqa: F401


def test_show(app, client, login_as, make_minute, spanish):  # noqa: F811
    ids = make_minute()
    login_as("editor", "edomex")
    convert(client, ids)
    print(client.get(f"/edomex/admin/cocreacion/mesas/{ids['table']}/minuta").get_data(as_text=True).split('id="propuestas"')[1][:2500])
    with tenant_context(get_tenant(app, "edomex")):
        c = commitments(app)[-1]
        publish(c)
        with app.test_request_context():
            url = content_types().get("commitment").url(c)
    client.delete_cookie("session")
    body = client.get(url).get_data(as_text=True)
    i = body.index('class="cc-origin"')
    print(body[i-200:i+2500])
    body = client.get("/cocreacion/problemas").get_data(as_text=True)
    print(body[body.index("<main"):][:2500])
    body = client.get("/").get_data(as_text=True)
    print(body[body.index("cc-portal-origin")-300:][:1200])

"""Bad query arguments on the public minutes pages are ignored, never a server error."""
import pytest


@pytest.mark.parametrize("url", ["/edomex/actas/?organo=%C2%B2", "/edomex/actas/acuerdos?organo=%C2%B2",
                                 "/edomex/actas/acuerdos?pagina=%C2%B2", "/edomex/actas/?organo=9999999999999999999999999",
                                 "/buscar?anio=%C2%B2", "/buscar?pagina=99999999999999999999"])
def test_bad_numbers_in_query_arguments_are_ignored(client, url):
    assert client.get(url).status_code == 200

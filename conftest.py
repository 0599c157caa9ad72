"""Root conftest: loads the Común CMS pytest plugin (fixtures in comun_cms/testing.py)."""
pytest_plugins = ["comun_cms.testing"]

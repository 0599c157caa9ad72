"""Alembic environment for Común CMS: runs inside the Flask app context (Flask-Migrate or
``comun init``); ``version_locations`` include every plugin's folder (see comun_cms.setup)."""
from alembic import context
from flask import current_app

from comun_cms.search.pg_schema import alembic_include_name
from comun_cms.toolkit import UTCDateTime

config = context.config
target_db = current_app.extensions["migrate"].db


def get_metadata():
    return target_db.metadata


def run_migrations_offline():
    context.configure(url=str(target_db.engine.url), target_metadata=get_metadata(), literal_binds=True,
                      render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def render_item(type_, obj, autogen_context):
    """Autogenerate writes the core's column type through the plugin toolkit, the only core module
    a plugin's revision may import (tests/test_toolkit_boundary.py)."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        autogen_context.imports.add("import comun_cms.toolkit")
        return "comun_cms.toolkit.UTCDateTime()"
    return False


def run_migrations_online():
    def process_revision_directives(ctx, revision, directives):
        if getattr(config.cmd_opts, "autogenerate", False):
            script = directives[0]
            if script.upgrade_ops.is_empty():
                directives[:] = []

    conf_args = dict(current_app.extensions["migrate"].configure_args)
    conf_args.setdefault("process_revision_directives", process_revision_directives)
    conf_args["compare_type"] = True
    conf_args.setdefault("render_item", render_item)
    conf_args.setdefault("include_name", alembic_include_name)  # the PostgreSQL search tables are not models
    with target_db.engine.connect() as connection:
        conf_args["render_as_batch"] = connection.dialect.name == "sqlite"
        context.configure(connection=connection, target_metadata=get_metadata(), **conf_args)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()

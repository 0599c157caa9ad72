"""``comun backup FILE`` and ``comun restore FILE`` (:mod:`comun_cms.backup`).

The passphrase comes from ``--passphrase-file`` (its first line), else the environment variable
``COMUN_BACKUP_PASSPHRASE``, else it is asked for (hidden; twice for a new backup).
"""
from __future__ import annotations

import os
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from comun_cms.backup import BackupError, backup, read_backup, restore

__all__ = ["backup_cmd", "restore_cmd"]


def _passphrase(passphrase_file: Path | None, confirm: bool) -> str:
    if passphrase_file is not None:
        try:
            lines = passphrase_file.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise click.BadParameter(f"cannot read {passphrase_file}: {exc.strerror}",
                                     param_hint="--passphrase-file") from None
        return lines[0] if lines else ""
    if os.environ.get("COMUN_BACKUP_PASSPHRASE"):
        return os.environ["COMUN_BACKUP_PASSPHRASE"]
    return click.prompt("Passphrase", hide_input=True, confirmation_prompt=confirm)


_passphrase_option = click.option("--passphrase-file", type=click.Path(path_type=Path, dir_okay=False),
                                  help="File whose first line is the passphrase (default: $COMUN_BACKUP_PASSPHRASE, "
                                       "else asked).")


@click.command("backup")
@click.argument("output", type=click.Path(path_type=Path, dir_okay=False))
@_passphrase_option
@click.option("--quiet", is_flag=True, help="Print nothing but errors.")
@with_appcontext
def backup_cmd(output: Path, passphrase_file: Path | None, quiet: bool) -> None:
    """Write an encrypted backup of the database, uploads, notary keys and secret key to OUTPUT
    (the search index is rebuilt on restore). Keep the passphrase apart from the file."""
    say = (lambda m: None) if quiet else click.echo
    try:
        report = backup(current_app._get_current_object(), output, _passphrase(passphrase_file, confirm=True), log=say)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    say(f"Backup written: {output} ({report.bytes} bytes; {sum(report.tables.values())} rows in "
        f"{len(report.tables)} tables; {report.files} files).")


@click.command("restore")
@click.argument("source", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@_passphrase_option
@click.option("--check", "check_only", is_flag=True, help="Only check the file (passphrase, every byte, the "
              "manifest); restore nothing.")
@click.option("--no-reindex", is_flag=True, help="Do not rebuild the search index (run `comun search reindex` later).")
@click.option("--quiet", is_flag=True, help="Print nothing but errors.")
@with_appcontext
def restore_cmd(source: Path, passphrase_file: Path | None, check_only: bool, no_reindex: bool, quiet: bool) -> None:
    """Restore the backup SOURCE into this empty instance (empty database, no uploads or notary
    keys), after checking the passphrase and every byte against the manifest."""
    say = (lambda m: None) if quiet else click.echo
    app = current_app._get_current_object()
    passphrase = _passphrase(passphrase_file, confirm=False)
    try:
        if check_only:
            import shutil
            import tempfile

            folder = Path(tempfile.mkdtemp(prefix="comun-check-"))
            try:
                manifest = read_backup(source, passphrase, folder)
            finally:
                shutil.rmtree(folder, ignore_errors=True)
            say(f"OK: {source} opens with this passphrase and matches its manifest ({len(manifest['files'])} files, "
                f"taken {manifest['created_at']}).")
            return
        report = restore(app, source, passphrase, log=say, reindex=not no_reindex)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    say(f"Restored: {sum(report.tables.values())} rows in {len(report.tables)} tables, {report.files} files"
        + (f", {report.documents} search documents." if not no_reindex else "; run `comun search reindex`."))

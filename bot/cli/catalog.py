"""`helpdesk catalog …`: the service catalog is kept in YAML under version control and
imported, so the file stays the source of truth."""

from __future__ import annotations

from pathlib import Path

import typer

from bot.cli._boot import build_helpdesk, fail

catalog_app = typer.Typer(help="Service catalog (Katalog layanan).")


@catalog_app.command("import")
def catalog_import(file: Path) -> None:
    """Import or update services from YAML; running it twice changes nothing."""
    from bot.core.catalog import CatalogError, import_catalog
    from storage.db import session_scope

    helpdesk = build_helpdesk()
    try:
        with session_scope(helpdesk.engine) as s:
            created, updated = import_catalog(s, file)
    except CatalogError as exc:
        fail(str(exc))
    typer.echo(f"services: {created} created, {updated} updated")


# No docstring: it would become the command's help text, which stays as it was.
@catalog_app.command("list")
def catalog_list() -> None:
    from bot.core.catalog import list_services
    from storage.db import session_scope

    helpdesk = build_helpdesk()
    with session_scope(helpdesk.engine) as s:
        for svc in list_services(s):
            typer.echo(f"{svc.id:16} {svc.availability_target:6g}%  {svc.criticality:7} {svc.name}")

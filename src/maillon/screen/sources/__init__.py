"""List sources, one module per publisher format, all producing :class:`ListData`.

``SOURCES`` maps a stable list id to its loader module; a module exposes ``LIST_ID``,
``TITLE``, ``URLS`` (official download addresses, may be empty), ``FILES`` (file name patterns
looked for in a folder) and ``load(paths) -> ListData``.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from maillon.core.errors import FieldError, InvalidInput
from maillon.screen.entity import ListData
from maillon.screen.sources import eu, ftm, local, ofac_csv, ofac_xml, uk, un, worldbank

SOURCES: dict[str, ModuleType] = {
    un.LIST_ID: un,
    ofac_csv.LIST_ID: ofac_csv,
    ofac_xml.LIST_ID: ofac_xml,
    eu.LIST_ID: eu,
    uk.LIST_ID: uk,
    worldbank.LIST_ID: worldbank,
}
"""Publisher lists with a fixed id; FtM and local CSV lists take the id they are given."""

FORMATS: dict[str, ModuleType] = {**SOURCES, "ftm": ftm, "local": local}


def source(list_id: str) -> ModuleType:
    module = FORMATS.get(list_id)
    if module is None:
        raise InvalidInput(f"unknown list {list_id!r}", [FieldError(
            reason=f"known lists: {', '.join(sorted(FORMATS))}", field="list", value=list_id)])
    return module


def find_files(list_id: str, folder: Path) -> list[Path]:
    """The files of ``list_id`` in ``folder`` (first pattern that matches), or []."""
    module = source(list_id)
    if list_id == ofac_csv.LIST_ID:
        found = [folder / name for name in ofac_csv.FILES if (folder / name).is_file()]
        if found:
            return found
        plain = [folder / n for n in ("sdn.csv", "alt.csv", "add.csv", "sdn_comments.csv")]
        return [p for p in plain if p.is_file()]
    for pattern in module.FILES:
        matches = sorted(folder.glob(pattern))
        if matches:
            return matches[-1:]
    return []


def load_files(list_id: str, paths: list[Path], *, fmt: str | None = None) -> ListData:
    """Parse ``paths`` with the loader of ``fmt`` (default: the list's own format)."""
    module = source(fmt or list_id)
    if module in (ftm, local):
        data: ListData = module.load(paths, list_id=list_id)
        return data
    loaded: ListData = module.load(paths)
    return loaded

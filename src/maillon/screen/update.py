"""Downloading the official list files (only on request; never in tests)."""

from __future__ import annotations

import urllib.request
from pathlib import Path

from maillon.core.errors import FieldError, InvalidFile
from maillon.screen.sources import ofac_csv, un

OFFICIAL: dict[str, tuple[str, ...]] = {
    un.LIST_ID: un.URLS,
    ofac_csv.LIST_ID: ofac_csv.URLS,
}
"""List id -> official URLs (the OFAC advanced XML ``sdn_advanced.xml`` is loaded as
``us_ofac_sdn_advanced`` when asked for explicitly)."""
MAX_BYTES = 200 * 1024 * 1024


def download(url: str, target: Path, *, timeout: float) -> Path:
    """Fetch ``url`` (https only) into ``target``; refuses more than ``MAX_BYTES``."""
    if not url.startswith("https://"):
        raise InvalidFile(f"refusing a non-https URL: {url}", [FieldError(reason="not https")])
    request = urllib.request.Request(url, headers={"User-Agent": "maillon-screen"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            data = response.read(MAX_BYTES + 1)
    except OSError as exc:
        raise InvalidFile(f"download failed: {url} ({exc})",
                          [FieldError(reason="download failed", value=url)]) from exc
    if len(data) > MAX_BYTES:
        raise InvalidFile(f"{url}: larger than {MAX_BYTES} bytes")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return target


def download_official(folder: Path, *, timeout: float = 20.0) -> dict[str, list[Path]]:
    """Download every official file into ``folder``; list id -> paths."""
    found: dict[str, list[Path]] = {}
    for list_id, urls in OFFICIAL.items():
        found[list_id] = [download(url, folder / url.rsplit("/", 1)[-1], timeout=timeout)
                          for url in urls]
    return found

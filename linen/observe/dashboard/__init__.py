"""The dashboard's static files (index.html, dashboard.js, dashboard.css), served by the node at /dashboard."""

from __future__ import annotations

from importlib import resources

_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}


def dashboard_file(name: str) -> tuple[bytes, str] | None:
    """(bytes, content type) of one of the package's dashboard files; None for anything else."""
    suffix = name[name.rfind("."):] if "." in name else ""
    if "/" in name or "\\" in name or name.startswith(".") or suffix not in _TYPES:
        return None
    resource = resources.files(__package__).joinpath(name)
    if not resource.is_file():
        return None
    return resource.read_bytes(), _TYPES[suffix]

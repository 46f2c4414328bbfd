"""Writing JSON files that readers may open at any moment: whole or not at all (temp file + rename)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def write_json_atomically(path: Path, data: Any, sort_keys: bool = False) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=sort_keys) + "\n")
    os.replace(tmp, path)
    return path

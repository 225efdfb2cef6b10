"""Benchmark 5: the Lambda artifact (`make package STAGE=dev` → dist/dev.zip): its size, and where to run it."""

import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.servers import ROOT

ZIP = ROOT / "dist" / "dev.zip"
PRODUCTION_ZIP = ROOT / "dist" / "production.zip"  # SnapStart's stage (bench/snapstart.py)
MIB = 1024 * 1024


def size() -> dict:
    """Return the zip's size zipped and unzipped (MiB) and its file counts, or why there is none."""
    if not ZIP.exists():
        return {"available": False, "note": "n/a: run make package STAGE=dev"}
    with zipfile.ZipFile(ZIP) as archive:
        entries = archive.infolist()
    return {
        "available": True,
        "zipped_mib": round(ZIP.stat().st_size / MIB, 1),
        "unzipped_mib": round(sum(entry.file_size for entry in entries) / MIB, 1),
        "files": len(entries),
        "bytecode_files": sum(entry.filename.endswith(".pyc") for entry in entries),
    }


@contextmanager
def unzipped(path: Path = ZIP) -> Iterator[Path | None]:
    """Yield a temporary directory holding the unzipped artifact at `path`, or None when there is no zip."""
    if not path.exists():
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="bench-artifact-") as directory:
        with zipfile.ZipFile(path) as archive:
            archive.extractall(directory)  # noqa: S202 - our own build output
        yield Path(directory)

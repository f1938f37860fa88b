"""The embedded default: a demo data set built once from a fixed seed and cached.

Generated rather than committed, so that it always matches the generator and the rules of
this version; the first `dvsync nightly` on a machine builds it (a few seconds).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from schemas.settings import Settings

DEMO_SEED = 2026


def bundled_demo(settings: Settings | None = None, log=print) -> Path:
    """Path of the bundled demo data (central.sqlite, submissions/, demo.json), built if absent."""
    from dvsync.demo import GENERATOR_VERSION, generate

    settings = settings or Settings.from_env()
    target = settings.home / f"demo-{GENERATOR_VERSION}-{settings.demo_members}-{DEMO_SEED}"
    if (target / "demo.json").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    log(f"Tạo dữ liệu mẫu lần đầu ({settings.demo_members} đảng viên) tại {target}")
    tmp = Path(tempfile.mkdtemp(prefix=".demo-", dir=target.parent))
    try:
        generate(members=settings.demo_members, out=tmp, seed=DEMO_SEED)
        # Another process may have built it meanwhile: keep theirs.
        if not (target / "demo.json").exists():
            shutil.rmtree(target, ignore_errors=True)
            tmp.rename(target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def demo_metadata(path: Path) -> dict:
    return json.loads((path / "demo.json").read_text(encoding="utf-8"))

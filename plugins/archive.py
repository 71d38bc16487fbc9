"""Build the archive krew installs (``plugins/why.yaml``): ``kubectl-why.tar.gz`` with the launcher, byte for byte
the same on every machine (fixed times, owner and order), so the manifest's sha256 can be checked in the tests and
the release uploads exactly that file.

    python plugins/archive.py dist/     # writes dist/kubectl-why.tar.gz and prints its sha256
"""

from __future__ import annotations

import gzip
import hashlib
import io
import sys
import tarfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
FILES = ("kubectl-why",)


def build() -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name in FILES:
            data = (HERE / name).read_bytes()
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o755, 0
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(data))
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0) as gz:
        gz.write(raw.getvalue())
    return out.getvalue()


def main(argv: list[str]) -> int:
    dest = Path(argv[0] if argv else "dist")
    dest.mkdir(parents=True, exist_ok=True)
    data = build()
    (dest / "kubectl-why.tar.gz").write_bytes(data)
    print(hashlib.sha256(data).hexdigest())
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

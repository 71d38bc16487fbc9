"""``python -m kubewhy.playbooks.warm CACHE_DIR [DIR ...]``: fill the compile cache, in a child process.

Compiling a playbook file the first time imports its pydantic schema and builds it (about 8 MB that a process
keeps for its life); reading it back from the compile cache (kubewhy/playbooks/cache.py) needs neither. A
long-lived process (the bot, the watchers) whose cache is cold has this child compile the bundled and the user's
files first, then reads them all back compiled (kubewhy/compose.py). A file that does not compile is not cached:
the process parses it itself and reports its ``file:line`` errors as always.
"""

from __future__ import annotations

import sys
from pathlib import Path

from .cache import PlaybookCache
from .loader import bundled_dir, load_dirs, playbook_files


def cold_files(cache_dir: Path, dirs: list[Path]) -> list[Path]:
    """The files in the bundled and the given directories with no compiled entry in ``cache_dir``."""
    from ..checks import default_registry

    cache = PlaybookCache(cache_dir, default_registry())
    out = []
    for directory in [bundled_dir(), *dirs]:
        if not directory.exists():
            continue
        for path in playbook_files(directory):
            try:
                key = cache.key(path.read_bytes())
            except OSError:
                continue
            if not (cache.directory / f"{key}.json").exists():
                out.append(path)
    return out


def main(argv: list[str]) -> int:
    load_dirs([Path(d) for d in argv[1:]], cache_dir=Path(argv[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

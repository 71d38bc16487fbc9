"""The compiled CEL runtime (``common-expression-language``'s Rust extension ``cel.cel``), loaded on its own.

The package's ``cel/__init__.py`` also imports its command-line tool, which pulls in prompt_toolkit and rich
(about 100 ms at every start of kubewhy). kubewhy needs only ``compile`` and ``Context``, which live in the
extension module, so this loads that module from the package directory without running the package's
``__init__``. If the package is laid out differently (another version), the ordinary import is used.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
from pathlib import Path
from types import ModuleType


def _load() -> ModuleType:
    if "cel.cel" in sys.modules:
        return sys.modules["cel.cel"]
    spec = importlib.util.find_spec("cel")  # finds the package without executing its __init__
    for directory in (spec.submodule_search_locations or []) if spec else []:
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            path = Path(directory) / f"cel{suffix}"
            if path.is_file():
                loader = importlib.machinery.ExtensionFileLoader("cel.cel", str(path))
                ext_spec = importlib.util.spec_from_file_location("cel.cel", path, loader=loader)
                if ext_spec is None:
                    continue
                module = importlib.util.module_from_spec(ext_spec)
                loader.exec_module(module)
                sys.modules["cel.cel"] = module  # a later ``import cel`` reuses it
                return module
    import cel

    return cel


_cel = _load()
compile = _cel.compile
Context = _cel.Context
# the file the runtime was loaded from: part of the playbook cache's key (another version may parse differently)
ORIGIN = str(getattr(_cel, "__file__", "") or "")

__all__ = ["ORIGIN", "Context", "compile"]

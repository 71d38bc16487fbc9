"""``python -m tui``: the same as ``k8stui``."""

from .cli import console_main

console_main()

"""The k8stui widgets the screens are built from: the virtual table and the ``:``/``/`` command bar."""

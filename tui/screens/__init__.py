"""The k8stui screens: the main lists, the detail screens pushed on top of them, and the modals."""

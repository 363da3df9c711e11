"""One function per verb. Each takes ``Options`` (and verb flags) and returns a result with
``to_data()`` (for -o json|yaml), ``text()`` and optionally ``exit_code``."""

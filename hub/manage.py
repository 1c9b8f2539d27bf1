#!/usr/bin/env python
"""The hub's command line (Django): migrate, runserver, enroll_machine, trim_changelog, ..."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hubsite.settings")
    from hubsite import keys

    # Before Django: the settings refuse to load without keys, and this is what creates them.
    if sys.argv[1:2] == ["init_secrets"]:
        sys.exit(keys.main(sys.argv[2:]))
    try:
        import importlib

        importlib.import_module(os.environ["DJANGO_SETTINGS_MODULE"])
    except keys.MissingKeys as exc:
        # A paragraph an admin can act on, not a traceback through Django's internals.
        print(f"manage.py: {exc}", file=sys.stderr)
        sys.exit(2)
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()

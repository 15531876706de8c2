"""The `yilian` console script: Django's management commands with Yilian's settings preset.

`yilian demo`, `yilian serve`, `yilian check`, `yilian migrate`, … are the management commands of the
same names; `yilian` alone lists them.
"""

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "yilian.settings")
    from django.core.management import execute_from_command_line

    argv = list(sys.argv if argv is None else argv)
    argv[0] = "yilian"
    execute_from_command_line(argv)


if __name__ == "__main__":
    main()

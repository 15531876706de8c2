#!/usr/bin/env python
"""Django's manage.py; the same as the `yilian` console script."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))

from yilian.cli import main  # noqa: E402

if __name__ == "__main__":
    main()

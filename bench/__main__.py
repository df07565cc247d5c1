"""``python -m bench`` is the ``bench`` console script."""

from bench.cli import main

raise SystemExit(main())

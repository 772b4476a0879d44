"""``python -m fastrapi run main.py``: the command line (see `fastrapi.cli`)."""

from fastrapi.cli import main

raise SystemExit(main())

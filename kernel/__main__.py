"""``python -m kernel``: the pteroca CLI."""

from kernel.cli import main

main()

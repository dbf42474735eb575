"""``python -m nixgen``: the same as the ``nixgen`` command."""

from nixgen.cli import main

main()

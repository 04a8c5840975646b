"""`python -m analysis ...` is `gan-analyze ...`."""

from analysis.cli import main

main()

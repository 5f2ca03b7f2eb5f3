"""`python -m neocloud`: the `neocloud` command (how the server starts its analysis workers)."""

from neocloud.cli.main import main

main()

"""The `neocloud` command line (Typer + Rich)."""

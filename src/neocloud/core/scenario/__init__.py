"""Rent it out or keep it: the economics of owning GPU capacity (issue 6)."""

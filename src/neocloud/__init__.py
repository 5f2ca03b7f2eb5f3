"""neocloud: an open-source control plane for GPU data-center capacity."""

__version__ = "0.1.0"

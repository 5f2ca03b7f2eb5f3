"""Simulators: replay workloads through the core's policies on a virtual clock."""

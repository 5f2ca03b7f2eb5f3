"""Adapters: the store, spec files and trace inventories. They turn the outside world into core objects."""

"""Use cases: services that load from the store, call the core, and save, one unit of work each."""

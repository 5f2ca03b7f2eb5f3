"""Readers for the public cluster traces in shared/traces. A malformed row is an error naming file and line."""

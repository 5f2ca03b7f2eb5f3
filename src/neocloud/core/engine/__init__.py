"""The scheduling engine: admission, ordering, placement and preemption over a cluster snapshot.

The same engine runs in the trace-driven simulator (virtual clock) and in the live server (real clock):
it reads the state it is given and returns decisions; it never reads a clock or does I/O.
"""

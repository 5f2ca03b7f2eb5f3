"""Placement on GPU-sharing clusters: pods that ask for a fraction of a GPU (milli-GPUs), and the node
scoring policies compared in the FGD paper (Weng et al., "Beware of Fragmentation", USENIX ATC'23).
"""

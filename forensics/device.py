"""The one place where the compute device and thread counts are chosen.

``FORENSICS_DEVICE`` (e.g. ``cpu``, ``cuda:1``) overrides the automatic choice; a GPU is used when one exists.
``FORENSICS_THREADS`` caps torch's intra-op threads (tests and benchmarks set it; two processes fighting over
two cores made a 43 ms forward take 2 s).
"""

from __future__ import annotations

import functools
import os


@functools.lru_cache(maxsize=1)
def get_device():
    """Return the torch.device every model in this process runs on."""
    import torch

    wanted = os.environ.get("FORENSICS_DEVICE")
    if wanted:
        return torch.device(wanted)
    if torch.cuda.is_available():
        return torch.device("cuda")
    return torch.device("cpu")


def configure_threads(n: int | None = None) -> int:
    """Cap torch threads to ``n`` (default: ``FORENSICS_THREADS`` or leave torch's default). Returns the count."""
    import torch

    if n is None:
        env = os.environ.get("FORENSICS_THREADS")
        if not env:
            return torch.get_num_threads()
        n = int(env)
    torch.set_num_threads(max(1, n))
    return torch.get_num_threads()

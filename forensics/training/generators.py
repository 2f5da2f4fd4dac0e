"""Which generator (or swap tool) made the files of a source: the unit of leave-one-generator-out folds and of
per-generator balancing.

Source folder names of ``../shared/data`` say which pipeline made the files, but several sources share one
generator (FLUX.1 dev / schnell / pro and the FLUX identity adapters are all FLUX; Arc2Face, IC-Light and
IP-Adapter-Plus-Face run on Stable Diffusion 1.5). A detector that saw FLUX.1 dev has seen FLUX: leaving out one of
those sources alone is not a test on an unseen generator. ``generator_of`` maps a source to its generator family;
an unknown source is its own generator.

    >>> generator_of("sfhqt2i_flux1_schnell"), generator_of("iclight_sd15"), generator_of("utkface")
    ('flux', 'sd15', 'utkface')
"""

from __future__ import annotations

import re

# (pattern on the source name, generator family); first match wins
_FAMILIES: tuple[tuple[str, str], ...] = (
    (r"flux", "flux"),
    (r"(^|_)sd15($|_)|^sd15_", "sd15"),
    (r"sd21", "sd21"),
    (r"sdxl", "sdxl"),
    (r"dalle3", "dalle3"),
    (r"^kolors", "kolors"),
    (r"stylegan2", "stylegan2"),
    (r"^stylegan1", "stylegan1"),
    (r"^progan", "progan"),
    (r"^stylegan_basemax$", "stylegan-basemax"),
)


def generator_of(source: str) -> str:
    """The generator family of a source folder name (the source itself when no family is known)."""
    s = str(source).lower()
    for pattern, name in _FAMILIES:
        if re.search(pattern, s):
            return name
    return str(source)

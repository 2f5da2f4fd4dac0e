"""The rules ``verify-report`` applies: tolerances and the parts a re-run is not expected to reproduce.

They belong to the library and are versioned here. A bundle records which rules were in force when it was written
(its ``verification`` block), but verification never reads a tolerance or an exclusion from the file it checks: a
forger who loosens the recorded tolerance only adds one more mismatch (the block itself is compared like any other
value). Changing anything below means a new ``version``.

Example:
    >>> RULES.float_rel_tol, RULES.version
    (1e-06, 'forensics.verify-rules/2')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

HASH_KEY = "bundle_sha256"
SEAL_KEY = "seal"  # signature block added after the bundle is hashed (forensics.report.seal); never hashed itself


@dataclass(frozen=True)
class VerificationRules:
    """Floats must agree within ``float_rel_tol`` (relative) or ``float_abs_tol`` (near zero), because CPU kernels
    round differently between machines and builds; everything else exactly. ``excluded`` paths ("*" = any key or
    list index) are not compared: the bundle's own hash and seal (checked separately), wall-clock times, the host
    and package versions (their differences become notes), the evidence file name (hashes identify it), the
    weights folders used and the case log's head (checked by ``verify-log`` against the log)."""

    version: str = "forensics.verify-rules/2"
    float_rel_tol: float = 1e-6
    float_abs_tol: float = 1e-9
    excluded: tuple[tuple[str, ...], ...] = (
        (HASH_KEY,),
        (SEAL_KEY,),
        ("generated_utc",),
        ("environment",),
        ("log_head",),
        ("signer",),
        ("analysis", "timings_ms"),
        ("analysis", "environment"),
        ("analysis", "device"),
        ("evidence", "name"),
        ("explanations", "*", "elapsed_ms"),
        ("checks", "*", "elapsed_ms"),
        ("report_options", "weights_dirs"),
    )

    def record(self) -> dict[str, Any]:
        """What a bundle stores about the rules it was written under (for the reader; never used to verify)."""
        return {
            "rules": self.version,
            "float_rel_tol": self.float_rel_tol,
            "float_abs_tol": self.float_abs_tol,
            "not_compared": ["/".join(p) for p in self.excluded],
            "hash": f"sha256 of canonical JSON without {HASH_KEY} and {SEAL_KEY}",
        }


RULES = VerificationRules()

"""Specific exceptions. Every message says what is wrong and what to do about it.

The UI shows ``ForensicsError`` messages to the analyst (never a traceback); anything else is a bug.
"""


class ForensicsError(Exception):
    """Base class of every error the library raises on purpose."""


class BadImageError(ForensicsError):
    """The evidence cannot be decoded as a supported image (corrupt, truncated, not an image, too large, ...)."""


class WeightsNotFoundError(ForensicsError):
    """A model's weight file is missing from every weights folder searched."""


class WeightsHashMismatchError(ForensicsError):
    """A weight file exists but its SHA-256 differs from the manifest: it is refused."""


class UnknownComponentError(ForensicsError, KeyError):
    """A registry was asked for a name it does not hold."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class NotApplicableError(ForensicsError):
    """A method does not apply to this input or model (e.g. LRP on a transformer without rules)."""


class UnavailableError(ForensicsError):
    """An optional component cannot run here (missing weights or package); the message names what it needs."""


class NoReadyDetectorError(UnavailableError):
    """No detector with trained weights is available, or the one asked for has none and untrained was not allowed."""


class SignInError(ForensicsError):
    """Sign-in refused: unknown user or wrong password (one message for both), disabled account, or rate limit."""


class AccessDeniedError(ForensicsError):
    """The signed-in user may not see or change this case (not a member, or a role that cannot do it)."""


class PathNotAllowedError(ForensicsError):
    """A local path or folder lies outside the evidence roots an admin configured (``FORENSICS_EVIDENCE_ROOTS``)."""

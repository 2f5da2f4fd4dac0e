"""Shared by every component: plain text for evidence and user input, errors without tracebacks, calls into ui.lib
that stop the page on a ForensicsError."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

import streamlit as st

from forensics.errors import BadImageError, ForensicsError

T = TypeVar("T")


NO_READY = (
    "No ready detector: no trained weights were found in weights/ or ../shared/peers, so no verdict can be "
    "given. Train the default detector (`python -m forensics train --config configs/default.toml`) or put "
    "the published Meso-4 weights in ../shared/peers. Untrained architectures can still be chosen in the "
    "sidebar as explain-only detectors (no verdict)."
)


_MARKUP = re.compile(r"([\\`*_\[\]<>:$&~|#@])")


_WWW = re.compile(r"(www)\.", re.IGNORECASE)


def plain(text: Any) -> str:
    """Text taken from evidence or typed by a user, made inert for an element that renders Markdown (captions,
    alerts, labels): the characters that Markdown links and images, HTML, entities, emphasis, LaTeX, GitHub
    autolinks (``https:``, ``www.``, e-mail) and Streamlit's ``:colour[...]`` / ``:material/...:`` directives need
    are backslash-escaped, so it shows as typed. Where a whole value is shown, prefer an element that never renders
    Markdown (``st.text``, ``st.code``, ``st.dataframe``, ``st.json``)."""
    return _WWW.sub(r"\1\\.", _MARKUP.sub(r"\\\1", str(text))).replace("\n", " ")


def show_error(exc: Exception) -> None:
    """A ForensicsError as an analyst reads it: what is wrong and what to do, never a traceback. Messages quote file
    names and metadata, so they are shown as plain text."""
    if isinstance(exc, BadImageError):
        st.error(f"This file cannot be analysed: {plain(exc)}", icon=":material/broken_image:")
    else:
        st.error(f"{type(exc).__name__}: {plain(exc)}", icon=":material/error:")


def call(fn: Callable[..., T], *args: Any, spinner: str | None = None, stop: bool = True, **kwargs: Any) -> T | None:
    """Run ``fn``; a ForensicsError is shown with ``st.error`` and the page stops (or None is returned)."""
    try:
        if spinner:
            with st.spinner(spinner, show_time=True):
                return fn(*args, **kwargs)
        return fn(*args, **kwargs)
    except ForensicsError as exc:
        show_error(exc)
        if stop:
            st.stop()
        return None

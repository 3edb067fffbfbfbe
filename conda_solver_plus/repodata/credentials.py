"""
Credentials in channel URLs: used to fetch, never shown.

Private channels (a company's Artifactory or Nexus, anaconda.org private channels, a
token-protected mirror) carry credentials in the channel URL, in the two forms conda
understands:

- a **token** as a path segment, anaconda.org style: ``https://host/t/TOKEN/channel``
  (conda's ``split_anaconda_token``: the first ``/t/<letters, digits, dashes>`` of the URL);
- **HTTP basic auth** as the URL's user info: ``https://user:password@host/channel``
  (sent as an ``Authorization: Basic`` header; percent-escapes in either part are decoded).

A channel is *the same channel* with or without them: its name, the URLs of its packages,
cache keys, explanations and every message use the clean URL (:func:`split_credentials`);
only the requests that fetch repodata carry the credentials, and only requests to the
channel's own *origin* (scheme, host and port) below its path (:func:`is_below`): a shard
index pointing its shards at another host, or a redirect to one, does not get them.
Wherever a URL as the user wrote it could still reach output — an error from the network
layer, an echo of ``-c`` — it goes through :func:`redact_url` / :func:`redact_text` first,
which apply conda's own rule for what it writes into ``conda-meta``: the token becomes
``<TOKEN>`` (``mask_anaconda_token``) and the user info is dropped (``remove_auth``).

This module does not import conda (the standalone CLI needs it too); the tests check it
against conda's helpers in ``conda.common.url``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit, urlunsplit

#: conda's token pattern (``conda.common.url.split_anaconda_token``)
_TOKEN = re.compile(r"/t/([a-zA-Z0-9-]*)")
#: a URL inside free text: a scheme, ``://`` and everything up to a space, quote or bracket
_URL_IN_TEXT = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>()\[\]]+")
#: what a masked token reads as (conda's spelling, as in ``conda-meta``)
MASKED_TOKEN = "<TOKEN>"


@dataclass(frozen=True)
class ChannelCredentials:
    """What a channel URL carried besides its location. ``repr`` shows no secret."""

    #: the URL requests go to: the token kept in place, the user info removed
    request_url: str = field(repr=False)
    token: str | None = field(default=None, repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @property
    def basic_auth(self) -> tuple[str, str] | None:
        """``(user, password)`` for an ``Authorization: Basic`` header, if the URL had them."""
        if self.username is None:
            return None
        return self.username, self.password or ""


def _without_user_info(url: str) -> tuple[str, str | None, str | None]:
    """``url`` without ``user:password@``, and the decoded user and password."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None, None
    user_info, _, host = parts.netloc.rpartition("@")
    user, colon, password = user_info.partition(":")
    clean = urlunsplit(parts._replace(netloc=host))
    return clean, unquote(user), unquote(password) if colon else None


def split_token(url: str) -> tuple[str, str | None]:
    """conda's rule (``split_anaconda_token``): ``url`` without its first ``/t/TOKEN``
    segment (trailing ``/`` removed), and the token (``None`` without one)."""
    match = _TOKEN.search(url)
    if match is None:
        return url.rstrip("/"), None
    return url.replace(match.group(0), "", 1).rstrip("/"), match.group(1)


def split_credentials(url: str) -> tuple[str, ChannelCredentials | None]:
    """``url`` as the channel is known everywhere (no token, no user info), and what it
    carried to authenticate with (``None`` when nothing)."""
    request_url, user, password = _without_user_info(url)
    clean, token = split_token(request_url)
    if token is None and user is None:
        return url, None
    credentials = ChannelCredentials(
        request_url=request_url.rstrip("/"), token=token, username=user, password=password
    )
    return clean, credentials


_DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:  # not a number: an origin nothing else shares
        return scheme, parts.netloc.lower(), -1
    return scheme, (parts.hostname or "").lower(), port or _DEFAULT_PORTS.get(scheme)


def is_below(base: str, url: str) -> bool:
    """Is ``url`` on ``base``'s origin (scheme, host, port — ``http://h`` is
    ``http://h:80``) and at or below its path? Where a channel's credentials may go:
    ``https://host/chan`` covers ``https://host/chan/linux-64/x``, not
    ``https://host/chan2/...``, ``http://host/chan/...`` or ``https://host:8443/chan/...``."""
    if _origin(base) != _origin(url):
        return False
    base_path = urlsplit(base).path.rstrip("/")
    path = urlsplit(url).path
    return path == base_path or path.startswith(base_path + "/")


def redact_url(url: str) -> str:
    """``url`` as conda writes it into ``conda-meta``: the token masked as ``<TOKEN>``
    (``mask_anaconda_token``) and ``user:password@`` dropped (``remove_auth``)."""
    without_user, _, _ = _without_user_info(url)
    # the matched segment, not the token's first occurrence anywhere (a short token could
    # also spell part of the host name)
    return _TOKEN.sub(_mask_token, without_user, count=1)


def _mask_token(match: re.Match[str]) -> str:
    return f"/t/{MASKED_TOKEN}" if match.group(1) else match.group(0)


def redact_text(text: str) -> str:
    """``text`` with every URL in it passed through :func:`redact_url` (for messages that
    quote a URL: network errors, echoed channels)."""
    return _URL_IN_TEXT.sub(lambda match: redact_url(match.group(0)), text)

"""
Channels as users write them, resolved to where they are served from.

- a URL is a URL; a private channel's credentials — a token (``https://host/t/TOKEN/channel``)
  or basic auth (``https://user:password@host/channel``) — are split off it
  (:mod:`.credentials`): the channel, its records and its cache are known by the clean URL,
  and only the repodata requests carry the credentials;
- text spelled like a path is a local directory (a ``file://`` URL);
- a name like ``conda-forge`` (labels included) is a channel under the channel alias
  (``https://conda.anaconda.org/``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import quote, unquote, urlparse

from ..exceptions import InvalidInputError
from ..records import DEFAULT_CHANNEL_ALIAS, canonical_channel_name
from .credentials import redact_url, split_credentials
from .model import ChannelRef

#: what conda's ``is_path`` accepts as the start of a path: ``./``, ``..``, ``~``, ``/``,
#: a drive letter, a UNC path (conda.common.path.PATH_MATCH_REGEX)
_PATH_START = re.compile(r"\./|\.\.|~|/|[a-zA-Z]:[/\\]|\\\\|//")


def looks_like_path(text: str) -> bool:
    """Is ``text`` a filesystem path by its spelling alone (the way conda decides)?

    ``conda-forge/label/dev`` is not: a ``/`` inside a name is a channel *label*.
    """
    return "://" not in text and (text == "." or _PATH_START.match(text) is not None)


def _has_separator(text: str) -> bool:
    return os.sep in text or (os.altsep is not None and os.altsep in text)


def resolve_channel(
    text: str | os.PathLike, channel_alias: str = DEFAULT_CHANNEL_ALIAS
) -> ChannelRef:
    """Turn a channel as written by a user into a :class:`ChannelRef`.

    Like conda: a URL is a URL; text spelled like a path (``./x``, ``../x``, ``~/x``,
    ``/x``) is a local directory; anything else is a channel *name* under the channel
    alias, labels included (``conda-forge/label/dev`` ->
    ``https://conda.anaconda.org/conda-forge/label/dev``). One convenience on top of
    conda: a relative path with a separator that names an existing directory
    (``tests/data/demo-channel``) is read as that directory, since that is evidently what
    the user means. A bare name (``pytorch``) is always a channel name, even when a
    directory of that name happens to be in the working directory.
    """
    if isinstance(text, os.PathLike):
        text = str(Path(text).resolve())
    # the channel as messages name it: a token masked, user and password dropped
    given = redact_url(text)
    text = text.strip().rstrip("/")
    if not text:
        raise InvalidInputError("channel ''", "empty channel name")
    credentials = None
    if text.startswith("file://"):
        path = Path(unquote(urlparse(text).path))
        url = "file://" + quote(str(path))
    elif "://" in text:
        url, credentials = split_credentials(text)
    elif looks_like_path(text) or (_has_separator(text) and Path(text).is_dir()):
        path = Path(text).expanduser().resolve()
        url = "file://" + quote(str(path))
    else:  # a name, possibly with a label: conda-forge, conda-forge/label/dev
        url = channel_alias.rstrip("/") + "/" + text
    return ChannelRef(
        given=given,
        url=url,
        name=canonical_channel_name(url, channel_alias),
        credentials=credentials,
    )

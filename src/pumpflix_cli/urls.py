"""The one reading of a service URL (DATABASE_URL, REDIS_URL, N8N_URL): for validating the
settings, for handing to the drivers, and for masking what is printed.

People paste passwords as they are, so a URL's password may hold raw ``/``, ``@``, ``?``,
``#``, ``+`` or ``%``. The drivers disagree on such URLs (libpq ends the user info at the
first ``@`` before any ``/``; SQLAlchemy at the first ``@`` after the ``:``; redis-py and
httpx, through ``urlsplit``, at the last ``@`` before the first ``/``, ``?`` or ``#``), and
a driver that misreads one puts a piece of the password into its error ("invalid port
'Xy7+Ab'"). So pumpflix reads the URL itself, once, and hands the drivers a canonical form
with the user name and password percent-encoded, which every driver reads the same way.

The reading: each ``@`` after ``scheme://`` could end the user info (or none does). A
reading is plausible when its host is a host name or a bracketed address, its port is a
number, its user name holds no ``/``, ``?`` or ``#``, and nothing after the host holds an
``@`` that could only belong to the password (an ``@`` in a path, a fragment). A URL
with exactly one plausible reading means that one; with none it is malformed, with more
than one it is ambiguous (``root:12?x@host`` is a password ``12?x`` or a port 12 and a
query): both are refused, never guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, unquote, unquote_plus

# Query parameters whose value is a secret (password, sslpassword, apikey, sslkey, …): the
# project's one rule for names that say so.
from pumpflix_cli.workflow.secret_names import names_a_secret

MASK = "***"

_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
_HOST = re.compile(r"[A-Za-z0-9._~%\-]*")  # a name, an IPv4 address, a %-encoded socket path
_IPV6 = re.compile(r"\[[0-9A-Fa-f:.]+(?:%[A-Za-z0-9._~%\-]+)?\]")
# Schemes whose user info is a credential as a whole (HTTP basic auth: the user name is
# as secret as the password, and a token is often given as the user name alone).
_WHOLE_USERINFO_SCHEMES = frozenset({"http", "https"})
# Schemes whose path names a file, which may hold an '@'.
_FILE_SCHEMES = frozenset({"sqlite", "unix"})


class UrlError(ValueError):
    """A URL that does not read exactly one way. The message never quotes the URL."""

    def __init__(self, scheme: str | None, reason: str) -> None:
        where = f"the {scheme}:// URL" if scheme else "the value"
        super().__init__(f"{where} {reason}")
        self.scheme = scheme
        self.reason = reason


@dataclass(frozen=True)
class ParsedUrl:
    """A URL read one way; every ``raw_*`` part is the text as it was written."""

    scheme: str
    raw_userinfo: str | None  # None: no ``@``
    host: str  # "" for a socket path or sqlite:///file; IPv6 with its brackets
    port: int | None
    raw_port: str | None  # as written ("" for ``host:``), None: no ``:``
    path: str
    query: str | None  # None: no ``?``
    fragment: str | None
    has_authority: bool = True  # False: ``unix:/path`` (no ``//``)

    # --- the parts ---------------------------------------------------------------------

    @property
    def raw_username(self) -> str | None:
        if self.raw_userinfo is None:
            return None
        return self.raw_userinfo.partition(":")[0]

    @property
    def raw_password(self) -> str | None:
        if self.raw_userinfo is None or ":" not in self.raw_userinfo:
            return None
        return self.raw_userinfo.partition(":")[2]

    @property
    def username(self) -> str | None:
        raw = self.raw_username
        return None if raw is None else unquote(raw)

    @property
    def password(self) -> str | None:
        raw = self.raw_password
        return None if raw is None else unquote(raw)

    def query_items(self) -> list[tuple[str, str | None]]:
        """(raw name, raw value or None for a bare name), in order."""
        pieces = [piece.partition("=") for piece in self.query.split("&")] if self.query else []
        return [(name, value if sep else None) for name, sep, value in pieces]

    # --- what is done with it ----------------------------------------------------------

    def secrets(self) -> list[str]:
        """Every secret the URL holds, in each form it may be seen in: as written,
        decoded, and percent-encoded (the canonical form)."""
        raw: list[str] = []
        if self.raw_password:
            raw.append(self.raw_password)
        if self.scheme.lower() in _WHOLE_USERINFO_SCHEMES and self.raw_username:
            raw.append(self.raw_username)
        raw.extend(v for n, v in self.query_items() if v and names_a_secret(unquote_plus(n)))
        if self.fragment and self.scheme.lower() not in _FILE_SCHEMES:
            raw.append(self.fragment)
        forms: list[str] = []
        for value in raw:
            for form in (value, unquote(value), unquote_plus(value)):
                forms.extend((form, quote(form, safe="")))
        return list(dict.fromkeys(form for form in forms if form))

    def masked(self) -> str:
        """The URL as it may be printed: password, secret query values and fragment
        replaced by ``***`` (for http(s) the whole user info)."""
        userinfo = self.raw_userinfo
        if userinfo is not None:
            if self.scheme.lower() in _WHOLE_USERINFO_SCHEMES:
                userinfo = MASK if userinfo else ""
            elif self.raw_password:
                userinfo = f"{self.raw_username}:{MASK}"
        query = None if self.query is None else "&".join(_mask_item(*i) for i in self.query_items())
        fragment = self.fragment
        if fragment and self.scheme.lower() not in _FILE_SCHEMES:  # a file's path is no secret
            fragment = MASK
        return self._render(userinfo, query, fragment)

    def canonical(self) -> str:
        """The URL with its user name and password percent-encoded: every driver reads
        this the one way pumpflix read it."""
        userinfo = self.raw_userinfo
        if userinfo is not None:
            user, password = self.username or "", self.password
            userinfo = quote(user, safe="")
            if password is not None:
                userinfo += ":" + quote(password, safe="")
        return self._render(userinfo, self.query, self.fragment)

    def without_userinfo(self) -> str:
        """The URL with no user info (the credentials go to the driver separately)."""
        return self._render(None, self.query, self.fragment)

    def _render(self, userinfo: str | None, query: str | None, fragment: str | None) -> str:
        text = f"{self.scheme}:"
        if self.has_authority:
            text += "//"
            if userinfo is not None:
                text += f"{userinfo}@"
            text += self.host
            if self.raw_port is not None:
                text += f":{self.raw_port}"
        text += self.path
        if query is not None:
            text += f"?{query}"
        if fragment is not None:
            text += f"#{fragment}"
        return text


def _mask_item(name: str, value: str | None) -> str:
    if value is None:
        return name
    if value and names_a_secret(unquote_plus(name)):
        return f"{name}={MASK}"
    if "@" in value or "%40" in value.upper():  # a URL with credentials inside a value
        decoded = unquote_plus(value)
        if "://" in decoded:
            return f"{name}={mask_urls_in(decoded)}"
    return f"{name}={value}"


def parse_url(text: str) -> ParsedUrl:
    """``text`` read the one way it can be read; :class:`UrlError` if it cannot."""
    match = _SCHEME.match(text)
    if match is None:
        raise UrlError(None, "is not a URL (scheme://host…)")
    scheme, rest = match.group(1), text[match.end() :]
    if any(ch.isspace() for ch in rest) and scheme.lower() not in _FILE_SCHEMES:
        raise UrlError(scheme, "holds white space (percent-encode it: %20)")
    if not rest.startswith("//"):
        return _no_authority(scheme, rest)
    tail = rest[2:]
    ats = [i for i, ch in enumerate(tail) if ch == "@"]
    readings = {
        reading for end in [None, *ats] if (reading := _reading(scheme, tail, end)) is not None
    }
    if len(readings) == 1:
        return readings.pop()
    if not readings:
        raise UrlError(
            scheme,
            "does not parse (check the host and the port; percent-encode '@', '/', '?' "
            "and '#' in the user name and password)",
        )
    raise UrlError(
        scheme,
        "reads more than one way (percent-encode '@', '/', '?' and '#' in the user name "
        "and password, and '@' in the query: %40 %2F %3F %23)",
    )


def _no_authority(scheme: str, rest: str) -> ParsedUrl:
    path, query, fragment = _split_rest(rest)
    return ParsedUrl(scheme, None, "", None, None, path, query, fragment, has_authority=False)


def _split_rest(rest: str) -> tuple[str, str | None, str | None]:
    rest, hash_, fragment = rest.partition("#")
    path, question, query = rest.partition("?")
    return path, (query if question else None), (fragment if hash_ else None)


def _reading(scheme: str, tail: str, at: int | None) -> ParsedUrl | None:
    """The reading whose user info ends at ``tail[at]`` (None: no user info), if plausible."""
    userinfo = None if at is None else tail[:at]
    after = tail if at is None else tail[at + 1 :]
    end = next((i for i, ch in enumerate(after) if ch in "/?#"), len(after))
    hostport, rest = after[:end], after[end:]
    if "@" in hostport:
        return None
    if userinfo is not None and any(ch in "/?#" for ch in userinfo.partition(":")[0]):
        return None
    split = _host_port(hostport)
    if split is None:
        return None
    host, raw_port, port = split
    path, query, fragment = _split_rest(rest)
    # An '@' after the host that no query explains belongs to a password: a reading that
    # puts one in the path (`root:1234/ab@host` as port 1234) or fragment is not plausible,
    # but where the path is a file's (sqlite:///, a socket's unix:///).
    if "@" in path and scheme.lower() not in _FILE_SCHEMES:
        return None
    if fragment is not None and "@" in fragment:
        return None
    return ParsedUrl(scheme, userinfo, host, port, raw_port, path, query, fragment)


def _host_port(text: str) -> tuple[str, str | None, int | None] | None:
    if text.startswith("["):
        close = text.find("]")
        host, rest = text[: close + 1], text[close + 1 :]
        if close < 0 or not _IPV6.fullmatch(host) or (rest and not rest.startswith(":")):
            return None
        raw_port = rest[1:] if rest else None
    else:
        host, colon, raw_port_text = text.partition(":")
        raw_port = raw_port_text if colon else None
        if not _HOST.fullmatch(host):
            return None
    if not raw_port:
        return host, raw_port, None
    if not raw_port.isascii() or not raw_port.isdigit() or not 0 < int(raw_port) <= 65535:
        return None
    return host, raw_port, int(raw_port)


def mask_url(text: str) -> str:
    """``text`` (one URL) with its secrets masked; a URL that does not read one way is
    shown as its scheme alone (``postgresql://***``)."""
    try:
        return parse_url(text).masked()
    except UrlError as exc:
        return f"{exc.scheme}://{MASK}" if exc.scheme else MASK


# A URL inside free text ends at white space or a quote (as in a repr or a message).
_URL_IN_TEXT = re.compile(r"\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s'\"<>`]*")


_TRAILING = ".,;:!)]}>"


def mask_urls_in(text: str) -> str:
    """Every URL inside ``text`` masked (:func:`mask_url`). Punctuation that ends a
    sentence or a parenthesis after a URL is kept out of it when that makes it parse."""
    return _URL_IN_TEXT.sub(lambda m: _mask_in_text(m.group(0)), text)


def _mask_in_text(found: str) -> str:
    trailing = len(found) - len(found.rstrip(_TRAILING))
    for cut in range(min(3, trailing) + 1):
        head, tail = found[: len(found) - cut], found[len(found) - cut :]
        try:
            return parse_url(head).masked() + tail
        except UrlError:
            continue
    cut = min(3, trailing)
    return mask_url(found[: len(found) - cut]) + found[len(found) - cut :]

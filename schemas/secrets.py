"""Credentials in source strings: the one place that finds, masks, removes and restores them.

A password never reaches a log, a message, a flow parameter or an output: everything printable
goes through ``redact``; the CLI moves a password out of a URL (``split_password``) into the
environment, and the flow puts it back (``with_password``) only where it connects.
"""

from __future__ import annotations

import re

from sqlalchemy.engine import make_url

ODBC_PREFIX = "odbc:"

_ODBC_SECRET = re.compile(
    r"(?i)\b((?:pwd|password|accesstoken|access_token)\s*=\s*)(\{(?:[^}]|\}\})*\}|[^;]*)"
)
_URL_SECRET = re.compile(r"(://[^:/@\s]*:)[^@\s]*@")


def _secrets_of(source: str | None) -> list[str]:
    """Literal secret values inside a source string, to scrub them from driver messages too."""
    if not source:
        return []
    found = [m.group(2).strip("{}") for m in _ODBC_SECRET.finditer(source)]
    if not source.startswith(ODBC_PREFIX):
        try:
            pw = make_url(source).password
        except Exception:  # noqa: BLE001 - an unparsable URL has no password we can find
            pw = None
        if pw:
            found.append(str(pw))
    return [s for s in found if len(s) >= 3]


def redact(text: str, source: str | None = None) -> str:
    """``text`` with passwords of URLs and ODBC strings (and those of ``source``) replaced by ***."""
    for secret in _secrets_of(source):
        text = text.replace(secret, "***")
    text = _ODBC_SECRET.sub(r"\1***", text)
    return _URL_SECRET.sub(r"\1***@", text)


def split_password(url: str) -> tuple[str, str | None]:
    """(``url`` without its password, the password): parameters and logs carry the first only."""
    if url.startswith(ODBC_PREFIX):
        pat = re.compile(r"(?i)(^|;)\s*(pwd|password)\s*=\s*(\{(?:[^}]|\}\})*\}|[^;]*)")
        m = pat.search(url[len(ODBC_PREFIX) :])
        if not m:
            return url, None
        pw = m.group(3).strip()
        if pw.startswith("{") and pw.endswith("}"):
            pw = pw[1:-1].replace("}}", "}")
        rest = pat.sub(lambda mm: "", url[len(ODBC_PREFIX) :], count=1).strip(";")
        return ODBC_PREFIX + rest, pw or None
    from sqlalchemy.engine import make_url

    try:
        u = make_url(url)
    except Exception:  # noqa: BLE001 - validated later, with a proper message
        return url, None
    if u.password is None:
        return url, None
    return u._replace(password=None).render_as_string(hide_password=False), str(u.password)


def with_password(url: str, password: str | None) -> str:
    """``url`` with ``password`` put back (from the environment or a Secret block), if it has none."""
    if not password or split_password(url)[1] is not None:
        return url
    if url.startswith(ODBC_PREFIX):
        return f"{url.rstrip(';')};PWD={{{password.replace('}', '}}')}}}"
    from sqlalchemy.engine import make_url

    u = make_url(url)
    return u.set(password=password).render_as_string(hide_password=False) if u.username else url

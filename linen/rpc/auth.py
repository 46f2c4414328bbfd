"""The local, authenticated JSON-RPC endpoint for methods that write a service's internal state.

Methods such as `state_sendRawTrieLog`, `rollup_forkChoiceUpdated` and
`linea_generateConflatedTracesToFileV2` change what a service stores or serves; anyone who could
call them could rewrite the zk state. They are never on the public port. They are served, with
every public method, on a second port bound to 127.0.0.1 by default, and each request must carry
`Authorization: Bearer <JWT>`: an HS256 token over `{"iat": now}` signed with a 32-byte secret
that the services share through a file. This is geth's engine-API scheme (same secret file
format: 64 hex digits; tokens older or newer than 60 s are refused), so operators know it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import time
from pathlib import Path

import orjson

from linen.errors import ConfigError

SECRET_BYTES = 32
MAX_CLOCK_SKEW = 60  # seconds between a token's iat and now, either way (the engine API's rule)
_HEADER = base64.urlsafe_b64encode(orjson.dumps({"alg": "HS256", "typ": "JWT"})).rstrip(b"=")


def load_or_create_secret(path: Path) -> bytes:
    """The secret in `path` (hex, optional 0x); a new random one, written with mode 0600, if the file is absent."""
    path = Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another service made it meanwhile: read theirs
            return read_secret(path)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(SECRET_BYTES) + "\n")
    return read_secret(path)


def read_secret(path: Path) -> bytes:
    try:
        text = Path(path).read_text().strip()
    except OSError as exc:
        raise ConfigError(f"cannot read the JWT secret {path}: {exc.strerror or exc}") from None
    text = text[2:] if text.startswith(("0x", "0X")) else text
    try:
        secret = bytes.fromhex(text)
    except ValueError:
        secret = b""
    if len(secret) != SECRET_BYTES:
        raise ConfigError(f"the JWT secret {path} must hold {SECRET_BYTES} bytes as {2 * SECRET_BYTES} hex digits")
    return secret


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def make_token(secret: bytes, now: float | None = None) -> str:
    """A fresh bearer token for one request."""
    payload = _b64(orjson.dumps({"iat": int(time.time() if now is None else now)}))
    signing_input = _HEADER + b"." + payload
    signature = _b64(hmac.new(secret, signing_input, hashlib.sha256).digest())
    return (signing_input + b"." + signature).decode()


def auth_header(secret: bytes) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token(secret)}"}


def check_authorization(header: str | None, secret: bytes, now: float | None = None) -> str | None:
    """None when `header` carries a valid token; else why it is refused (said to the client)."""
    if not header:
        return "missing Authorization header: send 'Bearer <JWT>' signed with the JWT secret"
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or token.count(".") != 2:
        return "malformed Authorization header: expected 'Bearer <JWT>'"
    head, payload, signature = token.strip().split(".")
    expected = _b64(hmac.new(secret, f"{head}.{payload}".encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(expected, signature.encode()):
        return "invalid token signature"
    try:
        if orjson.loads(_unb64(head)).get("alg") != "HS256":
            return "unsupported token algorithm: HS256 only"
        issued = orjson.loads(_unb64(payload))["iat"]
    except (ValueError, KeyError, TypeError, AttributeError):
        return "malformed token: expected a JSON payload with an integer iat"
    if not isinstance(issued, int | float) or isinstance(issued, bool):
        return "malformed token: iat must be a number"
    skew = (time.time() if now is None else now) - issued
    if abs(skew) > MAX_CLOCK_SKEW:
        return f"stale token: issued {skew:.0f} s from now, more than {MAX_CLOCK_SKEW} s"
    return None

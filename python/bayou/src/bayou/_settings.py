"""Where a `Client` connects: its arguments, else the environment, else a profile.

The names are bayou's (`BAYOU_REMOTE`, `BAYOU_API_KEY`, `BAYOU_PROFILE`, `BAYOU_CA_CERT`) and
bauplan's (`BAUPLAN_API_KEY`, `BAUPLAN_PROFILE`); profiles are the CLI's, in
`~/.bayou/config.toml` (`bayou config set remote URL --profile NAME`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional

from . import exceptions as exc


@dataclass(frozen=True)
class Settings:
    remote: Optional[str]
    api_key: Optional[str] = field(repr=False)
    ca_cert: Optional[bytes] = field(repr=False)
    profile: str = "default"


def _first(*values: Optional[str]) -> Optional[str]:
    return next((v for v in values if v), None)


def _profile(name: str) -> Mapping[str, Any]:
    path = Path(os.environ.get("HOME", "~")).expanduser() / ".bayou" / "config.toml"
    if not path.is_file():
        return {}
    try:
        import tomllib  # Python 3.11+
    except ImportError:  # pragma: no cover - older Pythons read profiles with tomli if present
        try:
            import tomli as tomllib  # type: ignore[no-redef]
        except ImportError:
            return {}
    with path.open("rb") as f:
        profiles = tomllib.load(f).get("profiles", {})
    found = profiles.get(name, {})
    return found if isinstance(found, dict) else {}


def resolve(
    profile: Optional[str], api_key: Optional[str], remote: Optional[str], ca_cert: Optional[str]
) -> Settings:
    env = os.environ
    name = _first(profile, env.get("BAYOU_PROFILE"), env.get("BAUPLAN_PROFILE")) or "default"
    stored = _profile(name)
    ca_path = _first(ca_cert, env.get("BAYOU_CA_CERT"), stored.get("ca_cert"))
    ca_pem = None
    if ca_path:
        try:
            ca_pem = Path(ca_path).read_bytes()
        except OSError as e:
            raise exc.InvalidArgumentError(f"cannot read the CA certificate {ca_path}: {e}") from None
    return Settings(
        remote=_first(remote, env.get("BAYOU_REMOTE"), stored.get("remote")),
        api_key=_first(
            api_key, env.get("BAYOU_API_KEY"), env.get("BAUPLAN_API_KEY"), stored.get("api_key")
        ),
        ca_cert=ca_pem,
        profile=name,
    )

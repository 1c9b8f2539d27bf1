"""Signed releases: a TUF repository (python-tuf's metadata format) built from onedir folders.

Layout (docs/UPDATES.md)::

    <repo>/metadata/1.root.json, root.json, N.targets.json, N.snapshot.json, timestamp.json
    <repo>/targets/files/<sha256>.<sha256>      one target per distinct file content
    <repo>/targets/releases/<sha256>.<version>.json   the release manifest target

A release manifest lists every file of the bundle (relative path -> sha256, length, mode). Files
are targets named by their content (``files/<sha256>``), so a file unchanged between releases is
one target that a kiosk already holds: a release that changes only our code transfers only our
code. Versions only go up: publishing a version <= the latest is refused.

Keys (``init``): ``root`` and ``targets`` are the offline keys (kept on the release engineer's
encrypted stick, used only to publish); ``snapshot`` and ``timestamp`` are online keys (the
timestamp must be re-signed before it expires: ``tools/release.py timestamp``).

CLI::

    python -m tools.release init --repo R --keys K
    python -m tools.release publish dist/kiosk --version 0.2.0 --repo R --keys K
    python -m tools.release timestamp --repo R --keys K [--expires-days 7]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import stat
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from packaging.version import Version
from securesystemslib.signer import CryptoSigner, SSlibKey
from tuf.api.metadata import (
    Metadata,
    MetaFile,
    Root,
    Snapshot,
    TargetFile,
    Targets,
    Timestamp,
)
from tuf.api.serialization.json import JSONSerializer

ROLES = ("root", "targets", "snapshot", "timestamp")
OFFLINE_ROLES = ("root", "targets")
ROOT_EXPIRES_DAYS = 365
TIMESTAMP_EXPIRES_DAYS = 7
MANIFEST_PREFIX = "releases/"
FILES_PREFIX = "files/"
CHUNK = 1 << 20
RELEASE_VERSION = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$")


class ReleaseError(Exception):
    """The release cannot be published (the text says why)."""


@dataclass(frozen=True)
class ReleaseInfo:
    version: str
    bundle_bytes: int
    file_count: int
    manifest: str  # the manifest's target name, e.g. "releases/0.2.0.json"
    new_bytes: int = 0  # bytes of file contents no earlier release had


def manifest_name(version: str) -> str:
    return f"{MANIFEST_PREFIX}{version}.json"


def file_target_name(sha256: str) -> str:
    return f"{FILES_PREFIX}{sha256}"


def _expiry(days: float) -> datetime:
    return (datetime.now(UTC) + timedelta(days=days)).replace(microsecond=0)


def _signer(keys: Path, role: str) -> CryptoSigner:
    pem = (keys / f"{role}.pem").read_bytes()
    private = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(private, Ed25519PrivateKey)
    return CryptoSigner(private, SSlibKey.from_crypto(private.public_key()))


def init(repo: Path, keys: Path) -> None:
    """New keys (0600) and version-1 metadata with no release. Refuses to overwrite."""
    if (keys / "root.pem").exists() or (repo / "metadata" / "1.root.json").exists():
        raise ReleaseError("keys or a repository already exist there; refusing to overwrite")
    keys.mkdir(parents=True, exist_ok=True)
    signers: dict[str, CryptoSigner] = {}
    for role in ROLES:
        private = Ed25519PrivateKey.generate()
        path = keys / f"{role}.pem"
        path.write_bytes(
            private.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        path.chmod(0o600)
        signers[role] = _signer(keys, role)
    root = Root(expires=_expiry(ROOT_EXPIRES_DAYS), consistent_snapshot=True)
    for role, signer in signers.items():
        root.add_key(signer.public_key, role)
    (repo / "metadata").mkdir(parents=True, exist_ok=True)
    (repo / "targets").mkdir(parents=True, exist_ok=True)
    root_md = Metadata(root)
    root_md.sign(signers["root"])
    _write(repo, root_md, "1.root.json")
    _write(repo, root_md, "root.json")
    targets = Metadata(Targets(expires=_expiry(30)))
    _sign_and_publish(repo, keys, targets, expires_days=30)


def _write(repo: Path, md: Metadata, name: str) -> None:
    path = repo / "metadata" / name
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(md.to_bytes(JSONSerializer(compact=False)))
    os.replace(tmp, path)


def _load(repo: Path, name: str) -> Metadata:
    return Metadata.from_file(str(repo / "metadata" / name))


def _latest(repo: Path, role: str) -> Metadata:
    versions = [
        int(p.name.split(".", 1)[0])
        for p in (repo / "metadata").glob(f"*.{role}.json")
        if p.name.split(".", 1)[0].isdigit()
    ]
    if not versions:
        raise ReleaseError(f"no {role} metadata in {repo}: run `init` first")
    return _load(repo, f"{max(versions)}.{role}.json")


def _sign_and_publish(
    repo: Path, keys: Path, targets: Metadata, *, expires_days: float, version_bump: bool = True
) -> None:
    """Write targets, then a snapshot naming it, then a timestamp naming that (in this order, so
    a client never sees a timestamp pointing at metadata not yet written)."""
    targets.signatures.clear()
    targets.sign(_signer(keys, "targets"))
    _write(repo, targets, f"{targets.signed.version}.targets.json")
    if list((repo / "metadata").glob("*.snapshot.json")):
        snapshot = _latest(repo, "snapshot")
        snapshot.signed.version += 1
    else:
        snapshot = Metadata(Snapshot())
    snapshot.signed.expires = _expiry(expires_days)
    snapshot.signed.meta["targets.json"] = MetaFile(version=targets.signed.version)
    snapshot.signatures.clear()
    snapshot.sign(_signer(keys, "snapshot"))
    _write(repo, snapshot, f"{snapshot.signed.version}.snapshot.json")
    _timestamp(
        repo, keys, snapshot.signed.version, _expiry(min(expires_days, TIMESTAMP_EXPIRES_DAYS))
    )


def _timestamp(repo: Path, keys: Path, snapshot_version: int, expires: datetime) -> None:
    if (repo / "metadata" / "timestamp.json").exists():
        timestamp = _load(repo, "timestamp.json")
        timestamp.signed.version += 1
    else:
        timestamp = Metadata(Timestamp())
    timestamp.signed.expires = expires
    timestamp.signed.snapshot_meta = MetaFile(version=snapshot_version)
    timestamp.signatures.clear()
    timestamp.sign(_signer(keys, "timestamp"))
    _write(repo, timestamp, "timestamp.json")


def refresh_timestamp(repo: Path, keys: Path, expires: datetime | None = None) -> None:
    """Re-sign the timestamp (online key) with a new expiry; run by a timer on the hub's host.
    ``expires`` in the past makes an expired repository (the tests' refusal case)."""
    snapshot = _latest(repo, "snapshot")
    _timestamp(repo, keys, snapshot.signed.version, expires or _expiry(TIMESTAMP_EXPIRES_DAYS))


def released_versions(repo: Path) -> list[Version]:
    targets = _latest(repo, "targets").signed
    assert isinstance(targets, Targets)
    return sorted(
        Version(name[len(MANIFEST_PREFIX) : -len(".json")])
        for name in targets.targets
        if name.startswith(MANIFEST_PREFIX)
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while block := stream.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _link_target(source_dir: Path, path: Path) -> str:
    """A symlink's target, kept only when it is relative and stays inside the bundle
    (PyInstaller links ``_internal/libQt6Core.so.6`` to ``PySide6/Qt/lib/...``)."""
    target = os.readlink(path)
    inside = (path.parent / target).resolve()
    if os.path.isabs(target) or not inside.is_relative_to(source_dir.resolve()):
        raise ReleaseError(
            f"the bundle's link {path.relative_to(source_dir)} points outside it ({target})"
        )
    return target


def bundle_manifest(source_dir: Path, version: str) -> dict[str, object]:
    """Every regular file of the bundle, and its symlinks (relative, inside the bundle)."""
    files: dict[str, dict[str, object]] = {}
    links: dict[str, str] = {}
    for folder, dirnames, filenames in os.walk(source_dir, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        here = Path(folder)
        for name in sorted(filenames) + [d for d in dirnames if (here / d).is_symlink()]:
            path = here / name
            relative = path.relative_to(source_dir).as_posix()
            if path.is_symlink():
                links[relative] = _link_target(source_dir, path)
                continue
            if not path.is_file():
                continue
            mode = path.stat().st_mode
            files[relative] = {
                "sha256": _sha256(path),
                "length": path.stat().st_size,
                "executable": bool(mode & stat.S_IXUSR),
            }
        dirnames[:] = [d for d in dirnames if not (here / d).is_symlink()]
    if not files:
        raise ReleaseError(f"{source_dir} holds no file")
    return {"version": version, "files": files, "links": links}


def _store_target(repo: Path, name: str, content_path: Path) -> TargetFile:
    target = TargetFile.from_file(name, str(content_path), ["sha256"])
    digest = target.hashes["sha256"]
    directory, _, base = name.rpartition("/")
    destination = repo / "targets" / directory / f"{digest}.{base}"
    if not destination.exists():
        destination.parent.mkdir(parents=True, exist_ok=True)
        tmp = destination.with_name(destination.name + ".tmp")
        tmp.write_bytes(content_path.read_bytes())
        os.replace(tmp, destination)
    return target


def publish_release(
    source_dir: Path, version: str, repo: Path, keys: Path, expires_days: int = 30
) -> ReleaseInfo:
    """Sign ``source_dir`` (a onedir bundle) as release ``version`` into ``repo``."""
    if RELEASE_VERSION.match(version) is None:
        # The kiosk compares X.Y.Z only (kiosk.domain.update_plan.version_key): a "1.0" or a
        # "0.2.0rc1" signed here would be offered and then refused by every machine.
        raise ReleaseError(f"{version!r} is not a release version (X.Y.Z, e.g. 0.2.0)")
    wanted = Version(version)
    existing = released_versions(repo)
    if existing and wanted <= existing[-1]:
        raise ReleaseError(f"version {version} is not above the latest release {existing[-1]}")
    manifest = bundle_manifest(source_dir, version)
    targets_md = _latest(repo, "targets")
    targets = targets_md.signed
    assert isinstance(targets, Targets)
    files = manifest["files"]
    assert isinstance(files, dict)
    bundle_bytes = new_bytes = 0
    for relative, entry in files.items():
        name = file_target_name(entry["sha256"])
        bundle_bytes += entry["length"]
        if name not in targets.targets:
            new_bytes += entry["length"]
            targets.targets[name] = _store_target(repo, name, source_dir / relative)
    staging = repo / "targets" / ".manifest.tmp"
    staging.write_text(json.dumps(manifest, indent=1, sort_keys=True))
    targets.targets[manifest_name(version)] = _store_target(repo, manifest_name(version), staging)
    staging.unlink()
    targets.version += 1
    targets.expires = _expiry(expires_days)
    _sign_and_publish(repo, keys, targets_md, expires_days=expires_days)
    return ReleaseInfo(version, bundle_bytes, len(files), manifest_name(version), new_bytes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tools.release", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("init", "publish", "timestamp"):
        sub = commands.add_parser(name)
        sub.add_argument("--repo", type=Path, required=True)
        sub.add_argument("--keys", type=Path, required=True)
        if name == "publish":
            sub.add_argument("source", type=Path)
            sub.add_argument("--version", required=True)
            sub.add_argument("--expires-days", type=int, default=30)
        if name == "timestamp":
            sub.add_argument("--expires-days", type=float, default=TIMESTAMP_EXPIRES_DAYS)
    args = parser.parse_args(argv)
    try:
        if args.command == "init":
            init(args.repo, args.keys)
            print(f"keys in {args.keys} (root, targets: keep offline); repository {args.repo}")
        elif args.command == "publish":
            info = publish_release(
                args.source, args.version, args.repo, args.keys, args.expires_days
            )
            print(
                f"release {info.version}: {info.file_count} files, {info.bundle_bytes} bytes, "
                f"{info.new_bytes} bytes new"
            )
        else:
            refresh_timestamp(args.repo, args.keys, _expiry(args.expires_days))
            print("timestamp re-signed")
    except ReleaseError as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

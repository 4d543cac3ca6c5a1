"""The month's commit record (pricing.md X1, data-contract.md `manifest.json`).

A month is issued exactly when `specifications/YYYY-MM/manifest.json` exists. Every file
of the month is written to `specifications/.staging/YYYY-MM/` first and checked there;
the commit then either renames the whole staging folder to the month folder (manifest
already inside: one atomic rename) or, when the month folder already exists (a user's
own file in it), moves the files in under a journal and writes the manifest last. A crash
leaves the month issued or not issued: `recover` rolls an unfinished journal back and
removes staging folders and temporary files, all of which only ccmeter writes.

ccmeter owns the files a manifest lists and no other file in the folder."""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from metering.render.files import TMP_MARK, atomic_write, fsync_dir
from metering.workspace import Workspace

MANIFEST = "manifest.json"
STAGING = ".staging"
DRAFTS = "drafts"


class IssueError(Exception):
    """A month cannot be issued as things stand (a user's file in the way, a failed
    check): nothing was issued."""


@dataclass(frozen=True)
class Issued:
    month: str
    manifest: dict
    sha256: str

    @property
    def issued_at(self) -> str:
        return self.manifest["issued_at"]

    def specifications(self) -> list[dict]:
        return [f for f in self.manifest["files"] if f.get("spec_number")]


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    from metering.ingest import sha256_of  # one way to hash a file, the inbox's
    return sha256_of(path)


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def manifest_path(ws: Workspace, month: str) -> Path:
    return ws.month_dir(month) / MANIFEST


def read_manifest(ws: Workspace, month: str) -> Issued | None:
    path = manifest_path(ws, month)
    if not path.is_file():
        return None
    data = path.read_bytes()
    try:
        manifest = json.loads(data)
    except ValueError:
        raise IssueError(f"{path}: the manifest is not valid JSON; run `ccmeter verify` and restore it "
                         "from a backup") from None
    return Issued(month, manifest, sha256_bytes(data))


def _is_month_name(name: str) -> bool:
    return len(name) == 7 and name[4] == "-" and name[:4].isdigit() and name[5:].isdigit()


def issued_months(ws: Workspace) -> dict[str, Issued]:
    """Every issued month, by month (YYYY-MM), in month order."""
    out: dict[str, Issued] = {}
    if not ws.specifications.is_dir():
        return out
    for d in sorted(ws.specifications.iterdir()):
        if d.is_dir() and _is_month_name(d.name):
            issued = read_manifest(ws, d.name)
            if issued:
                out[d.name] = issued
    return out


def manifest_bytes(manifest: dict) -> bytes:
    return (json.dumps(manifest, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def staged_files(staging: Path) -> list[str]:
    """Relative names of the files in a staging folder (ubl/x.xml included), sorted."""
    return sorted(str(p.relative_to(staging)) for p in staging.rglob("*") if p.is_file())


def file_entries(staging: Path, specs: dict[str, dict]) -> list[dict]:
    """The manifest's file list: name, bytes, sha256; for a specification's JSON its
    number, subscriber, total, currency and document type."""
    return [_entry(staging, name, specs.get(name)) for name in staged_files(staging)]


def _entry(directory: Path, name: str, spec: dict | None) -> dict:
    path = directory / name
    entry = {"name": name, "bytes": path.stat().st_size, "sha256": sha256_file(path)}
    if spec is not None:
        entry.update({"subscriber_id": spec["subscriber_id"], "spec_number": spec["spec_number"],
                      "document_type": spec["document_type"], "currency": spec["currency"],
                      "total": spec["total"]})
    return entry


def staging_dir(ws: Workspace, month: str) -> Path:
    return ws.specifications / STAGING / month


def _journal(ws: Workspace, month: str) -> Path:
    return ws.specifications / STAGING / f"{month}.journal.json"


def commit(ws: Workspace, month: str, staging: Path, manifest: dict) -> None:
    """Makes the staged month the issued month (see the module docstring)."""
    month_dir = ws.month_dir(month)
    names = staged_files(staging)
    if not month_dir.exists():
        atomic_write(staging / MANIFEST, manifest_bytes(manifest))
        os.rename(staging, month_dir)
        fsync_dir(month_dir.parent)
        _remove_if_empty(staging.parent)
        return
    if manifest_path(ws, month).exists():
        raise IssueError(f"{month} is already issued")
    taken = [n for n in names + [MANIFEST] if os.path.lexists(month_dir / n)]
    if taken:
        raise IssueError(f"{month_dir} holds file(s) ccmeter did not write with the names it must issue: "
                         f"{', '.join(taken[:5])}{' …' if len(taken) > 5 else ''}; move them elsewhere and "
                         "run again (nothing was issued)")
    journal = _journal(ws, month)
    atomic_write(journal, manifest_bytes({"month": month, "files": names}))
    for name in names:
        target = month_dir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        os.rename(staging / name, target)
    fsync_dir(month_dir)
    atomic_write(month_dir / MANIFEST, manifest_bytes(manifest))
    journal.unlink()
    shutil.rmtree(staging, ignore_errors=True)
    _remove_if_empty(staging.parent)


def _remove_if_empty(directory: Path) -> None:
    try:
        directory.rmdir()
    except OSError:  # not empty (another month staged) or gone
        pass


def recover(ws: Workspace) -> list[str]:
    """After a crash: roll back an unfinished commit (files moved in without their
    manifest), remove staging folders and ccmeter's temporary files. Returns what it did."""
    done: list[str] = []
    root = ws.specifications / STAGING
    if root.is_dir():
        for journal in sorted(root.glob("*.journal.json")):
            month = journal.name.split(".", 1)[0]
            try:
                names = json.loads(journal.read_bytes())["files"]
            except (ValueError, KeyError):
                names = []
            if not manifest_path(ws, month).exists():
                for name in names:
                    target = ws.month_dir(month) / name
                    if target.is_file():
                        target.unlink()
                for sub in sorted({ws.month_dir(month) / n.rsplit("/", 1)[0] for n in names if "/" in n}):
                    _remove_if_empty(sub)
                done.append(f"{month}: an interrupted issue was rolled back ({len(names)} file(s) removed)")
            journal.unlink()
        shutil.rmtree(root, ignore_errors=True)
        done.append("staging folders of an interrupted run removed")
    if ws.specifications.is_dir():
        for tmp in ws.specifications.rglob(".*.tmp"):
            if tmp.is_file() and (TMP_MARK in tmp.name or LEGACY_TMP.fullmatch(tmp.name)):
                tmp.unlink()
                done.append(f"temporary file {tmp.relative_to(ws.root)} removed")
    return done


# what ccmeter versions before the `.ccmeter-` mark left: ".<file we write>.<mkstemp 8>.tmp"
LEGACY_TMP = re.compile(r"\.[A-Za-z0-9_.-]+\.(json|pdf|csv|xlsx)\.[a-z0-9_]{8}\.tmp")


def adopt_legacy(ws: Workspace, loaded_files: list[dict], version: str) -> list[str]:
    """A month folder with specification files but no manifest (written before
    manifests existed) is adopted once: its manifest is written from the files found."""
    adopted: list[str] = []
    if not ws.specifications.is_dir():
        return adopted
    for d in sorted(ws.specifications.iterdir()):
        if not (d.is_dir() and _is_month_name(d.name)) or (d / MANIFEST).exists():
            continue
        specs = {}
        for p in sorted(d.glob("*.json")):
            try:
                spec = json.loads(p.read_bytes())
            except ValueError:
                continue
            if isinstance(spec, dict) and spec.get("period") == d.name and spec.get("spec_number") \
                    and p.name == f"{spec.get('subscriber_id')}.json":
                spec.setdefault("document_type", "credit_note" if spec["total"].startswith("-") else "specification")
                specs[p.name] = spec
        if not specs:
            continue
        owned = set(specs) | {n[:-5] + ".pdf" for n in specs} | {"summary.csv", "summary.xlsx", "anomalies.csv"}
        files = [_entry(d, name, specs.get(name)) for name in sorted(owned) if (d / name).is_file()]
        manifest = {"month": d.name, "issued_at": utc_now(), "adopted": True, "ccmeter_version": version,
                    "specifications": len(specs), "files": files, "loaded_files": loaded_files}
        atomic_write(d / MANIFEST, manifest_bytes(manifest))
        adopted.append(d.name)
    return adopted


def verify_files(ws: Workspace, issued: Issued) -> list[str]:
    """Every file the manifest lists is there with its sha256."""
    problems = []
    month_dir = ws.month_dir(issued.month)
    for f in issued.manifest.get("files", []):
        path = month_dir / f["name"]
        if not path.is_file():
            problems.append(f"{issued.month}/{f['name']}: missing")
        elif sha256_file(path) != f["sha256"]:
            problems.append(f"{issued.month}/{f['name']}: changed (sha256 differs from the manifest)")
    return problems


def read_issued_specs(ws: Workspace, issued: Issued) -> list[dict]:
    month_dir = ws.month_dir(issued.month)
    out = []
    for f in issued.specifications():
        out.append(json.loads((month_dir / f["name"]).read_bytes()))
    return out

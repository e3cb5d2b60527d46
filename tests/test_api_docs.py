"""``docs/api.md``'s curl examples, run as written against a real server, in order: each
``$ curl`` line must succeed (``curl -f``) or answer the status its ``# NNN`` mark says, and
print JSON where it prints a body."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from api_server import ThreadedServer
from factories import credit_frame, serving_models
from steward.app import Application, initialize
from steward.settings import Settings

DOC = Path(__file__).resolve().parents[1] / "docs" / "api.md"
COMMAND = re.compile(r"^\$ (curl .*?)(?:\s+#\s*(\d{3}))?$")


def _commands() -> list[tuple[str, int | None]]:
    found = []
    for block in re.findall(r"```console\n(.*?)```", DOC.read_text(), re.S):
        for line in block.splitlines():
            match = COMMAND.match(line)
            if match:
                found.append((match.group(1), int(match.group(2)) if match.group(2) else None))
    return found


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_every_curl_example_of_the_api_guide_runs_as_written(tmp_path: Path) -> None:
    commands = _commands()
    assert len(commands) >= 15
    settings = Settings(home=tmp_path / "home")
    init = initialize(settings)
    with Application.open(settings) as app:
        facts = serving_models(app, init)
        eli = app.authenticate(facts["tokens"]["eli"])
        app.deployments.deploy(eli, facts["refs"][0], "credit")
    tokens = facts["tokens"]
    credit_frame().to_csv(tmp_path / "credit.csv", index=False)
    with ThreadedServer(settings, tokens["eli"]) as server:
        env = {
            **os.environ,
            "STEWARD_URL": server.url,
            "ADMIN": init.token,
            "DANA": tokens["dana"],
            "SOFIA": tokens["sofia"],
            "SAM": tokens["sam"],
            "ELI": tokens["eli"],
        }
        for command, status in commands:
            done = subprocess.run(
                ["bash", "-c", command],
                capture_output=True,
                text=True,
                env=env,
                cwd=tmp_path,
                timeout=120,
                check=False,
            )
            assert done.returncode == 0, (command, done.stdout[-500:], done.stderr[-500:])
            if status is not None:
                assert done.stdout.strip() == str(status), (command, done.stdout)
                continue
            answer = json.loads(done.stdout)
            if "/training" in command:  # a job: the next line reads what it made
                _wait(server.url, tokens["dana"], answer["job"]["id"])


def _wait(url: str, token: str, job: str) -> None:
    import time

    import httpx

    for _ in range(600):
        found = httpx.get(
            f"{url}/api/v1/jobs/{job}", headers={"Authorization": f"Bearer {token}"}
        ).json()
        if found["status"] != "running":
            assert found["status"] == "succeeded", found
            return
        time.sleep(0.1)
    raise AssertionError(f"job {job} did not finish")

"""``python -m steward.monitoring run NAME``: one scheduled monitor run, as the server's own
identity (``STEWARD_SERVER_TOKEN``, strictly: a missing or revoked token is refused, never
replaced by an ambient identity). A ``steward serve`` worker's monitor scheduler starts it as
a child process; it prints the run's one-line outcome. Exit 0 when it ran (alert or not), 2
for bad use, 3 when refused."""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    from steward.app import Application
    from steward.errors import StewardError
    from steward.settings import Settings

    if len(argv) != 2 or argv[0] != "run":
        sys.stderr.write("usage: python -m steward.monitoring run NAME\n")
        return 2
    settings = Settings()
    secret = settings.server_token
    token = secret.get_secret_value() if secret is not None else None
    try:
        # a scheduled run is the server's: its evidence says a server computed it
        with Application.open(settings, computes="server") as app:
            actor = app.authenticate(token)
            run = app.monitoring.run(actor, argv[1])
    except StewardError as exc:
        sys.stderr.write(f"monitor {argv[1]}: {exc.code}: {exc.message}\n")
        return exc.exit_code
    raised = ", ".join(f"{a.id[:12]} ({a.current.rule})" for a in run.raised) or "no alert"
    sys.stdout.write(
        f"monitor {argv[1]}: evidence {run.record.id[:12]} on {run.record.subject}: {raised}\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

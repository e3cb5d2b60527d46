"""``python -m steward.monitoring schedule PARENT`` and ``python -m steward.monitoring run
NAME``, as the server's own identity (``STEWARD_SERVER_TOKEN``, strictly: a missing or
revoked token is refused, never replaced by an ambient identity).

``schedule`` is the monitor scheduler ``steward serve`` starts beside its workers: it starts
due runs until its parent (the server) is gone or it is told to stop. ``run`` is one run,
started by the scheduler; it prints the run's one-line outcome. Exit 0 when it ran (alert or
not), 2 for bad use, 3 when refused."""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    from steward.app import Application
    from steward.errors import StewardError
    from steward.settings import Settings

    if len(argv) != 2 or argv[0] not in ("run", "schedule"):
        sys.stderr.write("usage: python -m steward.monitoring run NAME | schedule PARENT\n")
        return 2
    settings = Settings()
    secret = settings.server_token
    token = secret.get_secret_value() if secret is not None else None
    if argv[0] == "schedule":
        return _schedule(settings, token, int(argv[1]))
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


def _schedule(settings: object, token: str | None, parent: int) -> int:
    """Start due runs every second's check (``MonitorScheduler.tick``) while ``parent``
    lives; stop on SIGTERM, waiting for running children."""
    import os
    import signal
    import time

    from steward.app import Application
    from steward.errors import StewardError
    from steward.monitoring._scheduler import MonitorScheduler

    stopping = False

    def stop(_signal: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    try:
        app = Application.open(settings, delivery="deferred", computes="server")  # type: ignore[arg-type]
        actor = app.authenticate(token)
    except StewardError as exc:
        sys.stderr.write(f"monitor scheduler: {exc.code}: {exc.message}\n")
        return exc.exit_code
    scheduler = MonitorScheduler(app, actor, token)
    try:
        while not stopping and os.getppid() == parent:
            try:
                scheduler.tick()
            except Exception as exc:  # a bad moment of the store: try again
                sys.stderr.write(f"monitor scheduler: {exc}\n")
            time.sleep(1.0)
    finally:
        scheduler.stop()
        app.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

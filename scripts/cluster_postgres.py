"""The cluster's local PostgreSQL (pgserver, as the tests use): `start DIR` prints its URL, `stop DIR` stops it.

The server outlives this process (scripts/cluster.sh stops it); started again on the same data directory it
listens on the same socket, so the URL the processes hold stays valid across a stop and a start.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def start(pgdata: Path) -> str:
    import pgserver

    server = pgserver.get_server(pgdata, cleanup_mode=None)
    url = server.get_uri()
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def stop(pgdata: Path) -> None:
    import pgserver

    if not (pgdata / "postmaster.pid").exists():
        return
    user = "pgserver" if os.geteuid() == 0 else None  # pgserver runs the server as that user when started by root
    pgserver.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user, timeout=60)


def main(arguments: list[str]) -> int:
    if len(arguments) != 2 or arguments[0] not in ("start", "stop"):
        print("usage: cluster_postgres.py start|stop PGDATA", file=sys.stderr)
        return 2
    pgdata = Path(arguments[1]).resolve()
    if arguments[0] == "start":
        pgdata.parent.mkdir(parents=True, exist_ok=True)
        print(start(pgdata))
    else:
        stop(pgdata)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

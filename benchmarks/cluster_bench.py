"""Scale-out load: `scripts/cluster.sh` (2 app replicas, 1 receiver, 1 worker, nginx, PostgreSQL) on loopback, 50
simulated dashboard users and a webhook stream of 200 deliveries/s, both through nginx. Not part of the test suite.

    .venv/bin/python -m benchmarks.cluster_bench [--users 50] [--rate 200] [--seconds 120]

A user is a Streamlit websocket client speaking the browser's protocol (protobuf BackMsg/ForwardMsg on
/_stcore/stream, behind the sticky cookie): it opens a page, filters the Numbers table, exports it (the download
button's file, over HTTP), and between actions answers the page's one-second freshness fragment as a browser does.
Reports p50/p95 page times per action, errors, deliveries lost, and the time from the last delivery's
acknowledgement until a user's Numbers page shows it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from benchmarks.webhooks_bench import _lost_and_twice, deliveries, fleet_of
from core import seed
from core.db import make_engine
from core.webhook_receiver import PATH, signature_of

ROOT = Path(__file__).resolve().parent.parent
SECRET = "cluster-benchmark-app-secret"
PAGES = ["", "numbers", "accounts", "subscriptions", "templates"]  # "" is the Overview
SHAPE = seed.synthetic_shape(5, 10, 20, 30, None)  # 1,000 numbers, 30 days of history
SENDER_CONNECTIONS = 16
RETRY_AFTER_S = 1.0  # Meta retries a delivery not answered 200; here after a second, up to 5 times
LAST_SHOWN_WITHIN_S = 300.0


@dataclass
class Tally:
    page_times: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    freshness_ticks: int = 0

    def time(self, action: str, seconds: float) -> None:
        self.page_times.setdefault(action, []).append(seconds)


# --- one simulated dashboard user -----------------------------------------------------------------------------


class DashboardUser:
    """A browser tab as Streamlit's server sees it: one websocket session, reruns in, deltas out."""

    def __init__(self, base_url: str, tally: Tally) -> None:
        self.base_url = base_url
        self.tally = tally
        self.http = httpx.AsyncClient(base_url=base_url, trust_env=False, timeout=60)
        self.widgets: dict[str, str] = {}  # widget key → widget id, as the last run drew them
        self.downloads: dict[str, str] = {}  # widget key → media URL
        self.fragment_id = ""
        self.page = ""
        self.frames: list[bytes] = []

    async def connect(self) -> None:
        await self.http.get("/")  # nginx's sticky cookie
        cookie = "; ".join(f"{name}={value}" for name, value in self.http.cookies.items())
        ws_url = self.base_url.replace("http://", "ws://") + "/_stcore/stream"
        self.socket = await websockets.connect(
            ws_url, subprotocols=["streamlit"], additional_headers={"Cookie": cookie}, max_size=None, proxy=None
        )

    async def close(self) -> None:
        await self.socket.close()
        await self.http.aclose()

    async def run(self, page: str, *, search: str | None = None, fragment: bool = False) -> float:
        """Ask for a rerun and read until it finishes; the seconds it took. Errors drawn on the page are counted."""
        message = BackMsg()
        state = message.rerun_script
        state.page_name = page
        if fragment:
            state.fragment_id = self.fragment_id
            state.is_auto_rerun = True
        if search is not None:
            widget = state.widget_states.widgets.add()
            widget.id = self.widgets["numbers_filters_search"]
            widget.string_value = search
        started = time.perf_counter()
        await self.socket.send(message.SerializeToString())
        if not fragment:
            self.frames = []
        while True:
            forward = ForwardMsg()
            forward.ParseFromString(await asyncio.wait_for(self.socket.recv(), timeout=120))
            kind = forward.WhichOneof("type")
            if kind == "delta":
                self._read_delta(forward)
            elif kind == "auto_rerun":
                self.fragment_id = forward.auto_rerun.fragment_id
            elif kind == "script_finished":
                if forward.script_finished == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                    continue  # the freshness fragment asked for a full rerun: its run follows
                return time.perf_counter() - started

    def _read_delta(self, forward: ForwardMsg) -> None:
        if forward.delta.WhichOneof("type") != "new_element":
            return
        element = forward.delta.new_element
        kind = element.WhichOneof("type")
        if kind == "exception":
            self.tally.errors.append(f"exception on {self.page or 'overview'}: {element.exception.message[:120]}")
        elif kind == "alert" and element.alert.format == element.alert.ERROR:
            self.tally.errors.append(f"error on {self.page or 'overview'}: {element.alert.body[:120]}")
        elif kind == "dataframe":
            self.frames.append(element.dataframe.SerializeToString())
        elif kind in ("text_input", "download_button"):
            widget = getattr(element, kind)
            key = widget.id.rsplit("-", 1)[-1]
            self.widgets[key] = widget.id
            if kind == "download_button":
                self.downloads[key] = widget.url

    async def open(self, page: str) -> None:
        self.page = page
        self.tally.time(f"open {page or 'overview'}", await self.run(page))

    async def filter_numbers(self, search: str) -> None:
        if self.page != "numbers":
            await self.open("numbers")
        self.tally.time("filter numbers", await self.run("numbers", search=search))

    async def export_numbers(self) -> None:
        """Click Download CSV on a Numbers page just drawn (a rerun since would have replaced the file)."""
        await self.open("numbers")
        started = time.perf_counter()
        response = await self.http.get(self.downloads["numbers_download_csv"])
        if response.status_code != 200 or not response.content.startswith(b"workspace,"):
            self.tally.errors.append(f"export: HTTP {response.status_code}")
        self.tally.time("export numbers (CSV)", time.perf_counter() - started)

    async def think(self, seconds: float) -> None:
        """Idle as a browser tab does: the freshness fragment reruns every second."""
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            await asyncio.sleep(1.0)
            if self.fragment_id:
                await self.run(self.page, fragment=True)
                self.tally.freshness_ticks += 1


async def dashboard_user(base_url: str, tally: Tally, until: float, rng: random.Random, digits: list[str]) -> None:
    user = DashboardUser(base_url, tally)
    try:
        await user.connect()
        await user.open(rng.choice(PAGES))
        while time.perf_counter() < until:
            action = rng.choices(["open", "filter", "export"], [0.6, 0.3, 0.1])[0]
            if action == "open":
                await user.open(rng.choice(PAGES))
            elif action == "filter":
                await user.filter_numbers(rng.choice(digits)[-4:])
            else:
                await user.export_numbers()
            await user.think(rng.uniform(2, 5))
    except Exception as error:  # a dropped session or a timeout is an error of the run, not of the script
        tally.errors.append(f"user session: {type(error).__name__}: {error}")
    finally:
        await user.close()


# --- the webhook stream ---------------------------------------------------------------------------------------


@dataclass
class Stream:
    acknowledged: list[bytes] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    retried: int = 0
    given_up: int = 0
    last_ack_at: float = 0.0


async def webhook_stream(port: int, bodies: list[bytes], rate: float, stream: Stream) -> None:
    """Each body at its time (start + i / rate) over keep-alive connections to nginx; a non-200 is sent again."""
    start = time.perf_counter() + 0.5
    queue: asyncio.Queue[tuple[int, bytes]] = asyncio.Queue()
    for index, body in enumerate(bodies):
        queue.put_nowait((index, body))

    async def connection() -> None:
        link = await _Link.open(port)
        try:
            while not queue.empty():
                index, body = queue.get_nowait()
                await asyncio.sleep(max(0.0, start + index / rate - time.perf_counter()))
                for attempt in range(6):
                    began = time.perf_counter()
                    status = await link.post(body)
                    if status == 200:
                        stream.latencies.append(time.perf_counter() - began)
                        stream.acknowledged.append(body)
                        stream.last_ack_at = time.perf_counter()
                        break
                    stream.retried += 1
                    await asyncio.sleep(RETRY_AFTER_S * (attempt + 1))
                else:
                    stream.given_up += 1
        finally:
            link.close()

    await asyncio.gather(*(connection() for _ in range(SENDER_CONNECTIONS)))


class _Link:
    """One keep-alive HTTP/1.1 connection to nginx, opened again when nginx closes it (after keepalive_requests)."""

    def __init__(self, port: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.port, self.reader, self.writer = port, reader, writer

    @classmethod
    async def open(cls, port: int) -> _Link:
        return cls(port, *await asyncio.open_connection("127.0.0.1", port))

    def close(self) -> None:
        self.writer.close()

    async def post(self, body: bytes) -> int:
        head = (
            f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"X-Hub-Signature-256: {signature_of(SECRET, body)}\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        for _attempt in range(3):
            try:
                self.writer.write(head.encode() + body)
                status_line = await self.reader.readline()
                if status_line:
                    return await self._rest_of_response(int(status_line.split()[1]))
            except ConnectionError:
                pass
            self.close()  # closed by nginx before answering: nothing was acknowledged, send it again
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        raise ConnectionError("nginx closed the connection three times in a row")

    async def _rest_of_response(self, status: int) -> int:
        length, closing = 0, False
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
            closing |= name.lower() == b"connection" and value.strip().lower() == b"close"
        await self.reader.readexactly(length)
        if closing:
            self.close()
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        return status


def marker_delivery(digits: str, waba: str, marker: str) -> bytes:
    """The last delivery: an approved display name nobody else has, easy to find in a page's table data."""
    import json

    change = {
        "field": "phone_number_name_update",
        "value": {"display_phone_number": digits, "decision": "APPROVED", "requested_verified_name": marker},
    }
    envelope = {"object": "whatsapp_business_account", "entry": [{"id": waba, "time": int(time.time()) + 10**6}]}
    envelope["entry"][0]["changes"] = [change]  # type: ignore[index]
    return json.dumps(envelope).encode()


async def seconds_until_shown(base_url: str, digits: str, marker: str, acknowledged_at: float) -> float:
    """From the marker's acknowledgement until a user's Numbers page, filtered to its number, shows it."""
    watcher = DashboardUser(base_url, Tally())
    await watcher.connect()
    try:
        await watcher.open("numbers")
        await watcher.run("numbers", search=digits[-7:])
        while marker.encode() not in b"".join(watcher.frames):
            if time.perf_counter() - acknowledged_at > LAST_SHOWN_WITHIN_S:
                return float("inf")
            await asyncio.sleep(1.0)
            await watcher.run("numbers", fragment=True)  # a full rerun follows when the data version moved
        return time.perf_counter() - acknowledged_at
    finally:
        await watcher.close()


# --- the run --------------------------------------------------------------------------------------------------


def start_cluster(run_dir: Path, proxy_port: int) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("FLEET_", "STREAMLIT_", "DATABASE_URL"))}
    environment.update(
        FLEET_CLUSTER_DIR=str(run_dir),
        FLEET_CLUSTER_PORT=str(proxy_port),
        FLEET_CLUSTER_FIRST_PORT=str(proxy_port + 1),
        META_APP_SECRET=SECRET,
        META_VERIFY_TOKEN="cluster-benchmark",
    )
    subprocess.run(["bash", "scripts/cluster.sh", "start"], cwd=ROOT, env=environment, check=True, timeout=300)
    return environment


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def load(base_url: str, proxy_port: int, args: argparse.Namespace, engine_url: str) -> dict[str, object]:
    engine = make_engine(engine_url)
    fleet = fleet_of(engine)
    bodies = deliveries(fleet, int(args.rate * args.seconds))
    digits, waba = fleet.numbers[0]
    marker = f"Marker {uuid.uuid4().hex[:10]}"
    tally, stream = Tally(), Stream()
    rng = random.Random(20)
    until = time.perf_counter() + args.seconds
    all_digits = [number for number, _ in fleet.numbers]
    users = [
        asyncio.create_task(dashboard_user(base_url, tally, until, random.Random(rng.random()), all_digits))
        for _ in range(args.users)
    ]
    await webhook_stream(proxy_port, bodies, args.rate, stream)
    await webhook_stream(proxy_port, [marker_delivery(digits, waba, marker)], args.rate, stream)
    marker_acknowledged = stream.last_ack_at
    shown_after = await seconds_until_shown(base_url, digits, marker, marker_acknowledged)
    await asyncio.gather(*users)
    lost, twice = _lost_and_twice(engine, stream.acknowledged)
    engine.dispose()
    return {"tally": tally, "stream": stream, "shown_after": shown_after, "lost": lost, "twice": twice}


def report(outcome: dict[str, object], args: argparse.Namespace, load_before: tuple[float, ...]) -> None:
    tally: Tally = outcome["tally"]  # type: ignore[assignment]
    stream: Stream = outcome["stream"]  # type: ignore[assignment]
    every = [t for times in tally.page_times.values() for t in times]
    print(f"{args.users} users, {args.rate:.0f} deliveries/s for {args.seconds:.0f} s, through nginx")
    print(f"  {'action':<26}{'count':>7}{'p50 ms':>9}{'p95 ms':>9}")
    for action, times in [*sorted(tally.page_times.items()), ("all page actions", every)]:
        p50, p95 = percentile(times, 0.5) * 1000, percentile(times, 0.95) * 1000
        print(f"  {action:<26}{len(times):>7}{p50:>9.0f}{p95:>9.0f}")
    print(f"  freshness fragment reruns: {tally.freshness_ticks}")
    print(f"  errors: {len(tally.errors)}" + "".join(f"\n    {e}" for e in tally.errors[:10]))
    p50, p95 = statistics.median(stream.latencies) * 1000, percentile(stream.latencies, 0.95) * 1000
    print(
        f"  deliveries: {len(stream.acknowledged):,} acknowledged, p50 {p50:.0f} ms, p95 {p95:.0f} ms, "
        f"{stream.retried} retried, {stream.given_up} given up, {outcome['lost']} lost, "
        f"{outcome['twice']} applied twice"
    )
    print(f"  last delivery shown on a Numbers page {outcome['shown_after']:.1f} s after its acknowledgement")
    print(f"  load average before {load_before}, after {os.getloadavg()}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--rate", type=float, default=200.0, help="webhook deliveries per second")
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--port", type=int, default=18080, help="nginx; the processes take the next ports")
    parser.add_argument("--keep", action="store_true", help="leave the cluster running afterwards")
    args = parser.parse_args(argv)
    run_dir = Path(tempfile.mkdtemp(prefix="fleet-cluster-bench-"))
    run_dir.chmod(0o755)
    environment = start_cluster(run_dir, args.port)
    try:
        database_url = (run_dir / "database_url").read_text().strip()
        engine = make_engine(database_url)
        seed.seed(engine, SHAPE)
        engine.dispose()
        load_before = os.getloadavg()
        outcome = asyncio.run(load(f"http://127.0.0.1:{args.port}", args.port, args, database_url))
        report(outcome, args, load_before)
    finally:
        if not args.keep:
            subprocess.run(["bash", "scripts/cluster.sh", "stop"], cwd=ROOT, env=environment, check=False)
            shutil.rmtree(run_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

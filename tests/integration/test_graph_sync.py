"""The pull sync against a real local HTTP server answering as Meta's Graph API does: pages through paging.next,
throttling, 5xx, an expired token, malformed answers; the fleet changes only through the listing import."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import Engine, select
from werkzeug import Request, Response

from core.config import SyncSettings
from core.db import SyncRun, read_session
from core.graph import GraphClient, Retries, TokenRefused
from core.reads.accounts import wabas_table
from core.reads.audit import audit_table
from core.reads.numbers import numbers_table
from core.reads.templates import templates_table
from core.sync import SyncRequest, schedule, sync_meta
from tests.builders import ADMIN
from tests.fixtures.meta import support

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
VERSION = "/v25.0"
TOKEN = "EAAG-test-system-user-token"
NEW_NUMBER = "+16315555555"


def number_node(phone: str, meta_id: str, name: str, **fields: Any) -> dict[str, Any]:
    """A phone-number node as GET /{waba-id}/phone_numbers returns it with every field the sync asks for."""
    return {
        "id": meta_id,
        "display_phone_number": phone,
        "verified_name": name,
        "status": "CONNECTED",
        "quality_rating": "GREEN",
        "messaging_limit_tier": "TIER_10K",
        "whatsapp_business_manager_messaging_limit": "TIER_10K",
        "name_status": "APPROVED",
        "code_verification_status": "VERIFIED",
        "platform_type": "CLOUD_API",
        "throughput": {"level": "STANDARD"},
        "account_mode": "LIVE",
        "is_official_business_account": False,
        "last_onboarded_time": "2025-02-11T08:34:15+0000",
        "health_status": {
            "can_send_message": "AVAILABLE",
            "entities": [
                {"entity_type": "PHONE_NUMBER", "id": meta_id, "can_send_message": "AVAILABLE"},
                {"entity_type": "WABA", "id": support.WABA_US, "can_send_message": "AVAILABLE"},
            ],
        },
        **fields,
    }


US_PAGES = [
    [number_node("+1 555-078-3881", "106540352242922", "Lucky Shrub")],
    [
        number_node(
            "+1 555-016-7350",
            "106540352242923",
            "Lucky Shrub Support",
            quality_rating="YELLOW",
            health_status={
                "can_send_message": "LIMITED",
                "entities": [
                    {
                        "entity_type": "PHONE_NUMBER",
                        "id": "106540352242923",
                        "can_send_message": "LIMITED",
                        "errors": [
                            {
                                "error_code": 141006,
                                "error_description": "There is an error with the payment method.",
                                "possible_solution": "Add a new payment method to the account.",
                            }
                        ],
                    }
                ],
            },
        )
    ],
    [number_node("+1 631-555-5555", "1906385232743451", "Lucky Shrub Deliveries")],
]
US_TEMPLATES = [
    [
        {
            "id": "1689556908129832",
            "name": "welcome_template",
            "language": "en-US",
            "status": "PAUSED",
            "category": "MARKETING",
            "quality_score": {"score": "RED", "date": 1733000000},
        }
    ],
    [
        {
            "id": "546151681022936",
            "name": "order_update",
            "language": "en_US",
            "status": "REJECTED",
            "category": "MARKETING",
            "previous_category": "UTILITY",
            "rejected_reason": "INVALID_FORMAT",
        }
    ],
]
EU_PAGES = [[number_node("+33 6 12 34 56 78", "113728448411213", "Lucky Shrub France")]]


class FakeGraph:
    """Meta's Graph API for the Lucky Shrub business, served by pytest-httpserver; `pages` per edge path."""

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.pages: dict[str, list[list[dict[str, Any]]]] = {
            f"{support.PORTFOLIO}/owned_whatsapp_business_accounts": [
                [{"id": support.WABA_US, "name": "Lucky Shrub US"}, {"id": support.WABA_EU, "name": "Lucky Shrub EU"}]
            ],
            f"{support.PORTFOLIO}/client_whatsapp_business_accounts": [[]],
            f"{support.WABA_US}/phone_numbers": US_PAGES,
            f"{support.WABA_US}/message_templates": US_TEMPLATES,
            f"{support.WABA_EU}/phone_numbers": EU_PAGES,
            f"{support.WABA_EU}/message_templates": [[]],
        }
        for path in self.pages:
            server.expect_request(f"{VERSION}/{path}").respond_with_handler(self._handler(path))

    def _handler(self, path: str) -> Callable[[Request], Response]:
        def answer(request: Request) -> Response:
            pages = self.pages[path]
            index = int(request.args.get("after", "0"))
            body: dict[str, Any] = {"data": pages[index], "paging": {"cursors": {"before": "QVFI", "after": "QVFJ"}}}
            if index + 1 < len(pages):
                # Meta's absolute link, here with a token as when one is sent in the query: never followed as is.
                body["paging"]["next"] = (
                    self.server.url_for(f"{VERSION}/{path}") + f"?limit=100&after={index + 1}&access_token=leaked"
                )
            return Response(json.dumps(body), content_type="application/json")

        return answer

    def answer_once(self, path: str, status: int, body: object, headers: dict[str, str] | None = None) -> None:
        """The next call to `path` gets this answer (then the normal pages again)."""
        text = body if isinstance(body, str) else json.dumps(body)
        self.server.expect_oneshot_request(f"{VERSION}/{path}").respond_with_data(
            text, status=status, headers=headers, content_type="application/json"
        )

    def calls(self, path: str) -> int:
        return sum(1 for request, _ in self.server.log if request.path == f"{VERSION}/{path}")


@pytest.fixture
def fleet(sqlite_engine: Engine) -> Engine:
    support.lucky_shrub_fleet(sqlite_engine)
    return sqlite_engine


@pytest.fixture
def graph(httpserver: HTTPServer) -> FakeGraph:
    return FakeGraph(httpserver)


def client(graph: FakeGraph) -> GraphClient:
    return GraphClient(
        TOKEN, graph.server.url_for(VERSION), retries=Retries(attempts=3, wait_initial=0.01, wait_max=0.02)
    )


def sync(fleet: Engine, graph: FakeGraph, now: datetime = NOW, **options: Any) -> Any:
    with client(graph) as graph_client:
        return sync_meta(fleet, ADMIN, SyncRequest(**options), graph_client, now=now)


def fleet_tables(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every table but the sync's own record of its runs (and the data version its commit moves)."""
    return {name: rows for name, rows in support.dump(engine).items() if name not in ("sync_runs", "data_version")}


def runs(engine: Engine) -> list[tuple[str, str]]:
    with read_session(engine) as session:
        return [
            tuple(row) for row in session.execute(select(SyncRun.meta_waba_id, SyncRun.outcome).order_by(SyncRun.id))
        ]  # type: ignore[misc]


def test_every_page_of_numbers_and_templates_is_read_through_paging_next(fleet: Engine, graph: FakeGraph) -> None:
    report = sync(fleet, graph)

    assert [(o.meta_waba_id, o.outcome) for o in report.outcomes] == [
        (support.WABA_US, "updated"),
        (support.WABA_EU, "updated"),
    ]
    assert graph.calls(f"{support.WABA_US}/phone_numbers") == 3
    assert graph.calls(f"{support.WABA_US}/message_templates") == 2
    numbers = numbers_table(fleet).set_index("phone_e164")
    assert numbers.loc[NEW_NUMBER, "waba_id"] == support.WABA_US
    assert numbers.loc[support.US_SUPPORT, "quality_rating"] == "YELLOW"
    assert numbers.loc[support.US_SUPPORT, "health_status"] == "LIMITED"
    errors = json.loads(numbers.loc[support.US_SUPPORT, "health_errors"])
    assert errors[0]["errors"][0]["error_code"] == 141006
    assert numbers.loc[support.US_MAIN, "health_status"] == "AVAILABLE"
    templates = templates_table(fleet).set_index("template")
    assert templates.loc["welcome_template", "status"] == "PAUSED"
    assert templates.loc["welcome_template", "quality_score"] == "RED"
    assert templates.loc["order_update", "status_reason"] == "INVALID_FORMAT"
    assert templates.loc["order_update", "previous_category"] == "UTILITY"
    assert runs(fleet) == [(support.WABA_US, "updated"), (support.WABA_EU, "updated")]


def test_the_token_travels_only_in_the_authorization_header(fleet: Engine, graph: FakeGraph) -> None:
    sync(fleet, graph)

    assert graph.server.log
    for request, _ in graph.server.log:
        assert request.headers["Authorization"] == f"Bearer {TOKEN}"
        assert "access_token" not in request.args
        assert TOKEN not in request.url


def test_a_second_sync_with_nothing_changed_at_meta_writes_nothing_to_the_fleet(
    fleet: Engine, graph: FakeGraph
) -> None:
    sync(fleet, graph)
    before = fleet_tables(fleet)

    report = sync(fleet, graph, now=NOW + timedelta(hours=1))

    assert [o.outcome for o in report.outcomes] == ["unchanged", "unchanged"]
    assert fleet_tables(fleet) == before


def test_a_dry_run_writes_nothing(fleet: Engine, graph: FakeGraph) -> None:
    before = support.dump(fleet)

    report = sync(fleet, graph, dry_run=True)

    assert [o.outcome for o in report.outcomes] == ["previewed", "previewed"]
    plan = report.outcomes[0].plan
    assert plan is not None
    assert plan.writes_anything
    assert support.dump(fleet) == before


def test_a_throttled_waba_waits_for_meta_while_the_others_go_on(fleet: Engine, graph: FakeGraph) -> None:
    usage = {
        support.WABA_US: [
            {
                "type": "whatsapp_business_management",
                "call_count": 100,
                "total_cputime": 12,
                "total_time": 15,
                "estimated_time_to_regain_access": 5,
            }
        ]
    }
    graph.answer_once(
        f"{support.WABA_US}/phone_numbers",
        400,
        {
            "error": {
                "message": "(#80008) There have been too many calls to this WhatsApp Business account.",
                "type": "OAuthException",
                "code": 80008,
                "fbtrace_id": "AbCdEf",
            }
        },
        headers={"X-Business-Use-Case-Usage": json.dumps(usage)},
    )
    before = fleet_tables(fleet)

    first = sync(fleet, graph, wabas=(support.WABA_US,))
    calls = graph.calls(f"{support.WABA_US}/phone_numbers")
    waiting = sync(fleet, graph, now=NOW + timedelta(minutes=1), wabas=(support.WABA_US,))

    assert first.outcomes[0].outcome == "throttled"
    assert first.outcomes[0].retry_after == NOW + timedelta(minutes=5)
    assert first.highest_usage == 100
    assert fleet_tables(fleet) == before
    assert waiting.outcomes[0].outcome == "waiting"
    assert graph.calls(f"{support.WABA_US}/phone_numbers") == calls  # not called while Meta said to wait

    later = sync(fleet, graph, now=NOW + timedelta(minutes=6))

    assert [(o.meta_waba_id, o.outcome) for o in later.outcomes] == [
        (support.WABA_US, "updated"),
        (support.WABA_EU, "updated"),
    ]
    table = wabas_table(fleet).set_index("waba_id")
    assert table.loc[support.WABA_US, "last_sync_outcome"] == "updated"


def test_a_throttled_answer_with_http_429_is_throttling_too(fleet: Engine, graph: FakeGraph) -> None:
    graph.answer_once(
        f"{support.WABA_EU}/phone_numbers", 429, {"error": {"message": "Application request limit reached", "code": 4}}
    )

    report = sync(fleet, graph)

    assert [(o.meta_waba_id, o.outcome) for o in report.outcomes] == [
        (support.WABA_US, "updated"),
        (support.WABA_EU, "throttled"),
    ]
    assert report.outcomes[1].retry_after == NOW + timedelta(hours=1)  # Meta gave no estimate


def test_server_errors_are_retried_until_the_graph_answers(fleet: Engine, graph: FakeGraph) -> None:
    graph.answer_once(f"{support.WABA_US}/phone_numbers", 503, {"error": {"message": "Service unavailable", "code": 2}})
    graph.answer_once(f"{support.WABA_US}/message_templates", 500, "<html>oops</html>")

    report = sync(fleet, graph, wabas=(support.WABA_US,))

    assert report.outcomes[0].outcome == "updated"
    assert NEW_NUMBER in numbers_table(fleet)["phone_e164"].tolist()


def test_an_expired_token_stops_the_run_with_a_clear_message(fleet: Engine, graph: FakeGraph) -> None:
    graph.answer_once(
        f"{support.PORTFOLIO}/owned_whatsapp_business_accounts",
        401,
        {
            "error": {
                "message": "Error validating access token: Session has expired on Tuesday.",
                "type": "OAuthException",
                "code": 190,
                "error_subcode": 463,
            }
        },
    )
    before = support.dump(fleet)

    with pytest.raises(TokenRefused) as refused:
        sync(fleet, graph)

    assert "invalid or expired" in str(refused.value)
    assert "META_ACCESS_TOKEN" in str(refused.value)
    assert TOKEN not in str(refused.value)
    assert support.dump(fleet) == before


@pytest.mark.parametrize(
    "answer",
    [
        '{"data": [',  # cut short
        {"error": {"message": "Unsupported get request.", "type": "GraphMethodException", "code": 100}},
        {"data": "not a list"},
    ],
    ids=["malformed JSON", "Graph error object", "no data list"],
)
def test_a_broken_answer_fails_that_waba_and_writes_nothing_for_it(
    fleet: Engine, graph: FakeGraph, answer: object
) -> None:
    graph.answer_once(
        f"{support.WABA_US}/message_templates", 400 if isinstance(answer, dict) and "error" in answer else 200, answer
    )
    before = numbers_table(fleet)

    report = sync(fleet, graph)

    assert [(o.meta_waba_id, o.outcome) for o in report.outcomes] == [
        (support.WABA_US, "failed"),
        (support.WABA_EU, "updated"),
    ]
    assert "Nothing was written" in report.outcomes[0].message
    assert NEW_NUMBER not in numbers_table(fleet)["phone_e164"].tolist()
    assert len(numbers_table(fleet)) == len(before)


def test_a_waba_meta_lists_that_the_fleet_lacks_is_reported_and_created_only_when_asked(
    fleet: Engine, graph: FakeGraph
) -> None:
    graph.pages[f"{support.PORTFOLIO}/client_whatsapp_business_accounts"] = [
        [{"id": "777000111222333", "name": "Client"}]
    ]
    graph.pages["777000111222333/phone_numbers"] = [[]]
    graph.pages["777000111222333/message_templates"] = [[]]
    for path in ("777000111222333/phone_numbers", "777000111222333/message_templates"):
        graph.server.expect_request(f"{VERSION}/{path}").respond_with_handler(graph._handler(path))

    reported = sync(fleet, graph)

    assert any("777000111222333 'Client'" in notice and "--create-unknown" in notice for notice in reported.notices)
    assert "777000111222333" not in wabas_table(fleet)["waba_id"].tolist()

    created = sync(fleet, graph, now=NOW + timedelta(hours=1), create_unknown=True)

    assert "777000111222333" in wabas_table(fleet)["waba_id"].tolist()
    assert ("777000111222333", "unchanged") in [(o.meta_waba_id, o.outcome) for o in created.outcomes]


def test_the_command_line_syncs_and_names_an_expired_token(
    fleet: Engine,
    graph: FakeGraph,
    sqlite_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from core.cli import main

    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.setenv("META_GRAPH_URL", graph.server.url_for(VERSION))
    monkeypatch.setenv("META_ACCESS_TOKEN", TOKEN)

    assert main(["sync", "meta", "--waba", support.WABA_EU]) == 0
    assert f"WABA {support.WABA_EU}: updated" in capsys.readouterr().out

    graph.answer_once(f"{support.WABA_US}/phone_numbers", 400, {"error": {"message": "Expired", "code": 190}})
    assert main(["sync", "meta", "--waba", support.WABA_US]) == 1
    assert "Meta refused the access token" in capsys.readouterr().err


def test_the_worker_syncs_every_n_minutes_only_when_configured(fleet: Engine, graph: FakeGraph) -> None:
    url = graph.server.url_for(VERSION)
    assert schedule(SyncSettings(access_token=TOKEN, graph_url=url, every_minutes=0)) is None
    assert schedule(SyncSettings(access_token="", graph_url=url, every_minutes=15)) is None

    job = schedule(SyncSettings(access_token=TOKEN, graph_url=url, every_minutes=15))
    assert job is not None
    job.run(fleet, NOW)

    assert job.every_seconds == 15 * 60
    assert NEW_NUMBER in numbers_table(fleet)["phone_e164"].tolist()
    assert "meta-sync" in audit_table(fleet)["actor"].tolist()


def test_a_sync_then_a_throttled_waba_on_both_databases(engine: Engine, graph: FakeGraph) -> None:
    support.lucky_shrub_fleet(engine)
    graph.answer_once(f"{support.WABA_EU}/phone_numbers", 400, {"error": {"message": "Too many calls", "code": 80007}})

    first = sync(engine, graph)
    again = sync(engine, graph, now=NOW + timedelta(minutes=30))

    assert [o.outcome for o in first.outcomes] == ["updated", "throttled"]
    assert [o.outcome for o in again.outcomes] == ["unchanged", "waiting"]
    assert NEW_NUMBER in numbers_table(engine)["phone_e164"].tolist()
    assert runs(engine) == [
        (support.WABA_US, "updated"),
        (support.WABA_EU, "throttled"),
        (support.WABA_US, "unchanged"),
    ]

"""Meta's Graph API, read only: list a business's WABAs and a WABA's numbers and templates, every page.

The access token travels only in the `Authorization: Bearer` header: never in a URL (a `paging.next` link that
carries one loses it), a message or the database. Transient failures (5xx answers, connection errors) are retried
with jittered exponential backoff; throttling, a refused token and malformed answers are named errors.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
import stamina

from core.errors import FleetError
from core.imports.reading import one_line

GRAPH_VERSION = "v25.0"
DEFAULT_GRAPH_URL = f"https://graph.facebook.com/{GRAPH_VERSION}"
# Graph API error codes meaning "slow down": app (4), user (17), pages (32), a generic rate limit (613), and the
# WhatsApp Business Management API's per-WABA (80007) and business-use-case (80008) limits.
THROTTLE_CODES = frozenset({4, 17, 32, 613, 80007, 80008})
TOKEN_CODES = frozenset({190})  # access token invalid or expired
# When a throttled answer does not say how long to wait: Meta's usage windows are an hour long.
DEFAULT_REGAIN = timedelta(hours=1)
PAGE_SIZE = 100

NUMBER_FIELDS = (
    "id,display_phone_number,verified_name,status,quality_rating,messaging_limit_tier,"
    "whatsapp_business_manager_messaging_limit,name_status,code_verification_status,platform_type,throughput,"
    "account_mode,is_official_business_account,last_onboarded_time,health_status"
)
TEMPLATE_FIELDS = "id,name,language,status,category,previous_category,rejected_reason,quality_score"
WABA_FIELDS = "id,name"


class GraphError(FleetError):
    """The Graph API answered with an error, or with something that is not an answer."""

    def __init__(self, message: str, *, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class Throttled(GraphError):
    """Meta is rate-limiting these calls: stop calling for `regain` (Meta's estimate, else an hour)."""

    def __init__(self, message: str, *, code: int | None, regain: timedelta) -> None:
        super().__init__(message, code=code)
        self.regain = regain


class TokenRefused(GraphError):
    """The access token is invalid or expired (code 190): no call can succeed."""


class GraphUnavailable(GraphError):
    """5xx answers or connection errors, still failing after every retry."""


@dataclass(frozen=True)
class Usage:
    """The highest usage Meta reported (X-Business-Use-Case-Usage, X-App-Usage), in percent, and the minutes until
    access is regained when throttled."""

    call_count: int = 0
    total_cputime: int = 0
    total_time: int = 0
    regain_minutes: int = 0

    @property
    def highest(self) -> int:
        return max(self.call_count, self.total_cputime, self.total_time)


def read_usage(headers: httpx.Headers) -> Usage:
    """Both headers, the business one a JSON object of lists ({"<id>": [{"type", "call_count", …}]}), the app one a
    flat object; anything unreadable counts as nothing reported."""
    entries: list[dict[str, Any]] = []
    business = _json_header(headers.get("x-business-use-case-usage"))
    if isinstance(business, dict):
        entries += [e for value in business.values() if isinstance(value, list) for e in value if isinstance(e, dict)]
    app = _json_header(headers.get("x-app-usage"))
    if isinstance(app, dict):
        entries.append(app)

    def highest(name: str) -> int:
        values = [e.get(name) for e in entries]
        return max((int(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)), default=0)

    return Usage(
        highest("call_count"),
        highest("total_cputime"),
        highest("total_time"),
        highest("estimated_time_to_regain_access"),
    )


def _json_header(value: str | None) -> object:
    if not value:
        return None
    try:
        return json.loads(value)
    except ValueError:
        return None


@dataclass(frozen=True)
class Retries:
    """How transient failures are retried: attempts in all, and the backoff's first and longest wait (seconds)."""

    attempts: int = 4
    wait_initial: float = 1.0
    wait_max: float = 30.0


class _ServerError(Exception):
    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response


class GraphClient:
    """Read-only Graph API calls with one token; `usage` is the latest usage Meta reported."""

    def __init__(
        self,
        token: str,
        base_url: str = DEFAULT_GRAPH_URL,
        *,
        retries: Retries = Retries(),
        timeout: float = 30.0,
    ) -> None:
        if not token:
            raise GraphError("META_ACCESS_TOKEN is not set: give a system-user access token to call the Graph API.")
        self.base_url = base_url.rstrip("/")
        self.retries = retries
        self.usage = Usage()
        self._origin = urlsplit(self.base_url)[:2]
        self._http = httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=timeout)

    def __enter__(self) -> GraphClient:
        return self

    def __exit__(self, *_: object) -> None:
        self._http.close()

    def business_wabas(self, business_id: str) -> list[dict[str, Any]]:
        """The WABAs a business owns, then those it manages for clients."""
        return [
            *self.every_item(f"{business_id}/owned_whatsapp_business_accounts", {"fields": WABA_FIELDS}),
            *self.every_item(f"{business_id}/client_whatsapp_business_accounts", {"fields": WABA_FIELDS}),
        ]

    def phone_numbers(self, waba_id: str) -> list[dict[str, Any]]:
        return list(self.every_item(f"{waba_id}/phone_numbers", {"fields": NUMBER_FIELDS}))

    def message_templates(self, waba_id: str) -> list[dict[str, Any]]:
        return list(self.every_item(f"{waba_id}/message_templates", {"fields": TEMPLATE_FIELDS}))

    def every_item(self, path: str, params: dict[str, str]) -> Iterator[dict[str, Any]]:
        """Every item of an edge, page after page through `paging.next` until there is none."""
        url: str | None = f"{self.base_url}/{path}"
        query: dict[str, str] | None = {**params, "limit": str(PAGE_SIZE)}
        while url is not None:
            page = self.get(url, query)
            data = page.get("data")
            if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
                raise GraphError(f"The Graph API's answer for {path} has no 'data' list of objects.")
            yield from data
            paging = page.get("paging")
            url = self._next_page(paging.get("next") if isinstance(paging, dict) else None, path)
            query = None  # the next link carries the query

    def _next_page(self, link: object, path: str) -> str | None:
        if link is None:
            return None
        if not isinstance(link, str):
            raise GraphError(f"The Graph API's answer for {path} has a 'paging.next' that is not a link.")
        parts = urlsplit(link)
        if parts[:2] != self._origin:
            raise GraphError(f"The Graph API's 'paging.next' for {path} leads to another host; not followed.")
        kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "access_token"]
        return urlunsplit(parts._replace(query=urlencode(kept)))

    def get(self, url: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        """One GET, retried on 5xx and connection errors; a Graph error object raises its named error."""
        try:
            for attempt in stamina.retry_context(
                on=(httpx.TransportError, _ServerError),
                attempts=self.retries.attempts,
                timeout=None,
                wait_initial=self.retries.wait_initial,
                wait_max=self.retries.wait_max,
            ):
                with attempt:
                    response = self._http.get(url, params=params)
                    if response.status_code >= 500:
                        raise _ServerError(response)
        except _ServerError as error:
            raise GraphUnavailable(
                f"The Graph API kept failing (HTTP {error.response.status_code} after "
                f"{self.retries.attempts} attempts): {_error_message(error.response)}"
            ) from None
        except httpx.TransportError as error:
            raise GraphUnavailable(
                f"The Graph API could not be reached after {self.retries.attempts} attempts: {type(error).__name__}."
            ) from None
        self.usage = read_usage(response.headers)
        return self._answer(response)

    def _answer(self, response: httpx.Response) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            raise GraphError(
                f"The Graph API answered HTTP {response.status_code} with something that is not JSON."
            ) from None
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict):
            raise self._error(response, error)
        if response.status_code >= 400 or not isinstance(body, dict):
            raise GraphError(f"The Graph API answered HTTP {response.status_code} without a usable answer.")
        return body

    def _error(self, response: httpx.Response, error: dict[str, Any]) -> GraphError:
        code = error.get("code") if isinstance(error.get("code"), int) else None
        text = f"{one_line(error.get('message')) or 'no message'} (code {code}, HTTP {response.status_code})"
        if code in TOKEN_CODES:
            return TokenRefused(
                f"Meta refused the access token: {text}. It is invalid or expired: create a new system-user token "
                "and set META_ACCESS_TOKEN.",
                code=code,
            )
        if code in THROTTLE_CODES:
            regain = timedelta(minutes=self.usage.regain_minutes) if self.usage.regain_minutes else DEFAULT_REGAIN
            return Throttled(f"Meta is rate-limiting these calls: {text}", code=code, regain=regain)
        return GraphError(f"The Graph API refused the call: {text}", code=code)


def _error_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return "no JSON answer"
    error = body.get("error") if isinstance(body, dict) else None
    return one_line(error.get("message")) if isinstance(error, dict) else "no error message"

"""``crm-rest``: the tenant's CRM (会员/CRM) over REST, synced both ways.

Outbound (idempotent: PUTs keyed by our ids):

    member.registered  PUT /crm/v1/members/{member_id}          {phone, name, level}
    points.adjusted    PUT /crm/v1/members/{member_id}/points   {balance, entry_id, delta, level}

(``level`` is the member's current level, read from the member center at delivery: the
member center publishes no event of its own when a level changes.)

Points deliveries arrive in ledger order (order per aggregate = per member), and the
CRM keeps the balance of the newest entry it has seen.

Inbound (``pull``): ``GET /crm/v1/members?since=<version>`` lists members created or
changed in the CRM (e.g. signed up at a counter); each new phone is registered in the
member center (``member.api.register_member``) once, in version order; a phone we
already know is left as it is (the member center has no update-from-CRM call yet).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import BaseModel, Field, HttpUrl, SecretStr

from centers.member import api as member_api
from kernel.dispatch.inbound import Inbound
from kernel.errors import UserInputError
from kernel.plugins.manifest import DeliveredEvent, PluginContext, PluginError, PluginManifest

MAX_PAGES_PER_PULL = 20


class CrmSettings(BaseModel):
    base_url: HttpUrl = Field(description="Root of the CRM's REST API.")
    api_key: SecretStr = Field(description="Bearer token for the CRM API.")
    import_members: bool = Field(default=True, description="Register members created in the CRM.")
    page_size: int = Field(default=100, ge=1, le=1000)


@dataclass(frozen=True, slots=True)
class CrmMember:
    version: int
    phone: str
    name: str


def parse_members(items: Any) -> list[CrmMember]:
    if not isinstance(items, list):
        raise PluginError("CRM sent a malformed page of members")
    by_version: dict[int, CrmMember] = {}
    for index, item in enumerate(items):
        try:
            member = CrmMember(int(item["version"]), str(item["phone"]), str(item["name"]))
        except (KeyError, TypeError, ValueError):
            raise PluginError(f"malformed member #{index} from the CRM") from None
        by_version[member.version] = member
    return [by_version[v] for v in sorted(by_version)]


class CrmPlugin:
    def __init__(self, context: PluginContext) -> None:
        settings = context.settings
        assert isinstance(settings, CrmSettings)
        self.settings = settings
        self.client = httpx.AsyncClient(
            base_url=str(settings.base_url).rstrip("/") + "/crm/v1",
            headers={"authorization": f"Bearer {settings.api_key.get_secret_value()}"},
            timeout=context.call_timeout,
        )
        self.registered = 0
        self.inbound: Inbound | None = context.inbound

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = await self.client.request(method, path, **kwargs)
        except httpx.HTTPError as error:
            raise PluginError(f"CRM unreachable: {type(error).__name__}") from None
        if response.status_code >= 300:
            raise PluginError(f"CRM answered HTTP {response.status_code} to {method} {path}")
        return response

    async def _level(self, member_id: str) -> int | None:
        """The member's current level (read from the member center when we can)."""
        if self.inbound is None:
            return None
        async with self.inbound.transaction() as session:
            member = await member_api.get_member(
                session, self.inbound.tenant_id, uuid.UUID(member_id)
            )
        return member.level if member else None

    async def handle_event(self, event: DeliveredEvent) -> None:
        payload = event.payload
        if event.topic == "member.registered":
            member_id = str(payload["member_id"])
            await self._request(
                "PUT",
                f"/members/{member_id}",
                json={
                    "phone": payload["phone"],
                    "name": payload["display_name"],
                    "level": await self._level(member_id),
                },
            )
        elif event.topic == "points.adjusted":
            member_id = str(payload["member_id"])
            await self._request(
                "PUT",
                f"/members/{member_id}/points",
                json={
                    "balance": payload["balance_after"],
                    "delta": payload["delta"],
                    "entry_id": payload["entry_id"],
                    "level": await self._level(member_id),
                },
            )

    async def pull(self, inbound: Inbound) -> None:
        if not self.settings.import_members:
            return
        async with inbound.transaction() as session:
            since = int((await inbound.cursor(session)).get("members", 0))
        for _ in range(MAX_PAGES_PER_PULL):
            response = await self._request(
                "GET", "/members", params={"since": since, "limit": self.settings.page_size}
            )
            try:
                page = response.json()
            except ValueError:
                raise PluginError("CRM sent a non-JSON page of members") from None
            items = page.get("items") if isinstance(page, dict) else None
            members = [m for m in parse_members(items) if m.version > since]
            if not members:
                return
            async with inbound.transaction() as session:
                cursor = await inbound.cursor(session)
                for member in members:
                    known = await member_api.member_by_phone(
                        session, inbound.tenant_id, member.phone
                    )
                    if known is not None:
                        continue
                    try:
                        async with session.begin_nested():
                            await member_api.register_member(
                                session,
                                inbound.tenant_id,
                                phone=member.phone,
                                display_name=member.name,
                            )
                        self.registered += 1
                    except UserInputError as error:
                        raise PluginError(
                            f"CRM member version {member.version}: {error.code}"
                        ) from None
                since = members[-1].version
                await inbound.save_cursor(session, {**cursor, "members": since})
            if len(items or []) < self.settings.page_size:
                return

    async def check_health(self) -> None:
        await self._request("GET", "/ping")

    async def aclose(self) -> None:
        await self.client.aclose()


MANIFEST = PluginManifest(
    name="crm-rest",
    version="1.0.0",
    title="REST CRM",
    description="Members and points balances to the CRM; members created there back.",
    ports=("member.CrmSync", "points.PointsSync"),
    settings_model=CrmSettings,
    factory=CrmPlugin,
    topics=("member.registered", "points.adjusted"),
    pull_interval_seconds=60.0,
)

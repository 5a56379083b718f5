"""``crm-rest``: the tenant's CRM (会员/CRM) over REST, synced both ways.

Outbound (idempotent: PUTs keyed by our ids):

    member.registered      PUT /crm/v1/members/{member_id}          {phone, name, level}
    points.adjusted        PUT /crm/v1/members/{member_id}/points   {balance, entry_id, delta, level}
    member.level_changed   PUT /crm/v1/members/{member_id}/level    {level, from_level, growth, event_id}

Deliveries arrive in order per member (the aggregate); points entry ids and event ids
are time-ordered, and the CRM keeps the newest it has seen.

Inbound, both ways the CRM offers, through ``member.api.sync_member`` (source
``crm-rest``, by phone, ordered per member by the CRM's version: a duplicate or an older
message changes nothing):

- pull: ``GET /crm/v1/members?since=<version>`` lists members created or changed in the
  CRM (e.g. signed up or renamed at a counter), applied in version order with the
  cursor in the same transaction;
- push: the CRM POSTs one member ``{version, phone, name}`` to
  ``/hooks/store/plugins/crm-rest/{tenant_id}``, signed with ``callback_secret``
  (HMAC-SHA256 over ``"<timestamp>.<body>"`` in ``X-Crm-Timestamp``/``X-Crm-Signature``,
  refused when older than 5 minutes); pushes are refused while no secret is set.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import BaseModel, Field, HttpUrl, SecretStr
from sqlalchemy.ext.asyncio import AsyncSession

from centers.member import api as member_api
from kernel.dispatch.inbound import Inbound
from kernel.errors import UserInputError
from kernel.plugins.manifest import (
    CallbackRequest,
    CallbackResponse,
    DeliveredEvent,
    PluginContext,
    PluginError,
    PluginManifest,
)
from plugins import signing

MAX_PAGES_PER_PULL = 20
# The ``source`` of member versions applied from this plugin.
SOURCE = "crm-rest"


class CrmSettings(BaseModel):
    base_url: HttpUrl = Field(description="Root of the CRM's REST API.")
    api_key: SecretStr = Field(description="Bearer token for the CRM API.")
    import_members: bool = Field(
        default=True, description="Take members created or changed in the CRM (pull)."
    )
    callback_secret: SecretStr | None = Field(
        default=None,
        description="Secret the CRM signs its member pushes with; pushes are refused "
        "while it is unset.",
    )
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
        self.updated = 0
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
        elif event.topic == "member.level_changed":
            await self._request(
                "PUT",
                f"/members/{payload['member_id']}/level",
                json={
                    "level": payload["to_level"],
                    "from_level": payload["from_level"],
                    "growth": payload["growth"],
                    "event_id": str(event.id),
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

    async def _apply(self, session: AsyncSession, tenant_id: uuid.UUID, member: CrmMember) -> None:
        result = await member_api.sync_member(
            session,
            tenant_id,
            source=SOURCE,
            phone=member.phone,
            display_name=member.name,
            source_version=member.version,
        )
        if result.created:
            self.registered += 1
        elif result.applied:
            self.updated += 1

    async def handle_callback(self, request: CallbackRequest, inbound: Inbound) -> CallbackResponse:
        secret = self.settings.callback_secret
        if secret is None or not signing.verify(
            secret.get_secret_value(),
            request.headers.get("x-crm-timestamp", ""),
            request.headers.get("x-crm-signature", ""),
            request.body,
        ):
            return CallbackResponse(401, {"error": "bad signature"})
        try:
            (member,) = parse_members([json.loads(request.body)])
        except (ValueError, PluginError):
            return CallbackResponse(400, {"error": "expected {version, phone, name}"})
        try:
            async with inbound.transaction() as session:
                result = await member_api.sync_member(
                    session,
                    inbound.tenant_id,
                    source=SOURCE,
                    phone=member.phone,
                    display_name=member.name,
                    source_version=member.version,
                )
        except UserInputError as error:
            return CallbackResponse(422, {"error": error.message, "code": error.code})
        if result.created:
            self.registered += 1
        elif result.applied:
            self.updated += 1
        return CallbackResponse(
            200,
            {
                "member_id": str(result.member.id),
                "created": result.created,
                "applied": result.applied,
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
                    try:
                        async with session.begin_nested():
                            await self._apply(session, inbound.tenant_id, member)
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
    version="1.1.0",
    title="REST CRM",
    description="Members, levels and points balances to the CRM; members created or "
    "changed there back (pulled and pushed).",
    ports=("member.CrmSync", "points.PointsSync"),
    settings_model=CrmSettings,
    factory=CrmPlugin,
    topics=("member.registered", "member.level_changed", "points.adjusted"),
    pull_interval_seconds=60.0,
)

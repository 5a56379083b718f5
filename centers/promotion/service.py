"""Domain logic of the promotion center. Never commits; raises ``UserInputError`` on bad input."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from centers.promotion import repository
from centers.promotion.dto import (
    ActivityDetails,
    ImportOutcome,
    PromotionActivityInfo,
    PromotionKind,
    PromotionRules,
    PromotionStatus,
)
from centers.promotion.events import PromotionActivityCreated
from centers.promotion.rules import (
    PRICED_KINDS,
    check_rules,
    rule_to_json,
    rules_from_row,
    scope_to_json,
)
from kernel.errors import UserInputError
from kernel.ids import new_id
from kernel.outbox import emit
from kernel.text import required_text


def clean_name(name: str) -> str:
    return required_text(
        name, label="name", max_length=200, code="INVALID_NAME", field=["input", "name"]
    )


def check_window(starts_at: datetime, ends_at: datetime) -> None:
    # A window without an offset would be read in whatever zone the server runs in;
    # a flash sale that starts eight hours late is worse than a refused input.
    for field, moment in (("startsAt", starts_at), ("endsAt", ends_at)):
        if moment.utcoffset() is None:
            raise UserInputError(
                f"{field} needs a time zone offset",
                code="INVALID_WINDOW",
                field=["input", field],
            )
    if ends_at <= starts_at:
        raise UserInputError(
            "endsAt must be after startsAt", code="INVALID_WINDOW", field=["input", "endsAt"]
        )


async def create_activity(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    name: str,
    kind: PromotionKind,
    starts_at: datetime,
    ends_at: datetime,
    rules: PromotionRules | None = None,
) -> PromotionActivityInfo:
    cleaned = clean_name(name)
    check_window(starts_at, ends_at)
    if rules is not None:
        check_rules(kind, rules)
    # Created as a draft: an operator reviews the rules before the activity goes live.
    value = PromotionActivityInfo(
        id=new_id(),
        tenant_id=tenant_id,
        name=cleaned,
        kind=kind,
        status=PromotionStatus.DRAFT,
        starts_at=starts_at.astimezone(UTC),
        ends_at=ends_at.astimezone(UTC),
        created_at=datetime.now(UTC),
    )
    await repository.insert_activity(session, value)
    if rules is not None:
        await _store_rules(session, tenant_id, value.id, rules)
    await emit(
        session,
        tenant_id,
        PromotionActivityCreated(
            activity_id=value.id,
            name=value.name,
            kind=value.kind.value,
            starts_at=value.starts_at,
            ends_at=value.ends_at,
        ),
    )
    return value


def _clean_external_id(external_id: str) -> str:
    cleaned = external_id.strip() if isinstance(external_id, str) else ""
    if not cleaned or len(cleaned) > 64:
        raise UserInputError(
            "externalId must be 1-64 characters",
            code="INVALID_EXTERNAL_ID",
            field=["input", "externalId"],
        )
    return cleaned


async def import_activity(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    external_id: str,
    source_version: int,
    name: str,
    kind: PromotionKind,
    starts_at: datetime,
    ends_at: datetime,
    rules: PromotionRules | None = None,
) -> ImportOutcome:
    """Create or update the activity the ERP knows as ``external_id`` (促销同步).

    Checked like ``createPromotionActivity``. Created as a DRAFT, like any activity: an
    operator activates it. A version not newer than the last applied changes nothing,
    so duplicated and out-of-order feeds converge. Name and window follow the ERP in
    any status (it owns the schedule); rules only while the activity is a DRAFT.
    """
    key = _clean_external_id(external_id)
    if source_version < 1:
        raise UserInputError(
            "sourceVersion must be positive",
            code="INVALID_SOURCE_VERSION",
            field=["input", "sourceVersion"],
        )
    cleaned = clean_name(name)
    check_window(starts_at, ends_at)
    if rules is not None:
        check_rules(kind, rules)
    starts, ends = starts_at.astimezone(UTC), ends_at.astimezone(UTC)
    found = await repository.imported_activity_for_update(session, tenant_id, key)
    if found is None:
        value = PromotionActivityInfo(
            id=new_id(),
            tenant_id=tenant_id,
            name=cleaned,
            kind=kind,
            status=PromotionStatus.DRAFT,
            starts_at=starts,
            ends_at=ends,
            created_at=datetime.now(UTC),
            external_id=key,
        )
        await repository.insert_activity(session, value, source_version)
        if rules is not None:
            await _store_rules(session, tenant_id, value.id, rules)
        await emit(
            session,
            tenant_id,
            PromotionActivityCreated(
                activity_id=value.id,
                name=value.name,
                kind=value.kind.value,
                starts_at=value.starts_at,
                ends_at=value.ends_at,
            ),
        )
        return ImportOutcome(activity=value, created=True, applied=True)
    current, applied_version = found
    if source_version <= applied_version:
        return ImportOutcome(activity=current, created=False, applied=False)
    if kind is not current.kind:
        # An id reused for another kind of activity: its rules would not mean the same.
        raise UserInputError(
            f"activity {key} is {current.kind.value}, not {kind.value}",
            code="KIND_CHANGED",
            field=["input", "kind"],
        )
    await repository.update_imported_activity(
        session,
        tenant_id,
        current.id,
        name=cleaned,
        starts_at=starts,
        ends_at=ends,
        source_version=source_version,
    )
    is_draft = current.status is PromotionStatus.DRAFT
    if rules is not None and is_draft:
        await _store_rules(session, tenant_id, current.id, rules)
    (updated,) = await repository.activities_by_ids(session, tenant_id, [current.id])
    return ImportOutcome(
        activity=updated,
        created=False,
        applied=True,
        rules_kept=rules is not None and not is_draft,
    )


async def _store_rules(
    session: AsyncSession, tenant_id: uuid.UUID, activity_id: uuid.UUID, rules: PromotionRules
) -> None:
    await repository.set_activity_rules(
        session,
        tenant_id,
        activity_id,
        rule=rule_to_json(rules),
        scope=scope_to_json(rules.scope),
        priority=rules.priority,
        exclusive=rules.exclusive,
        stack_group=rules.stack_group,
        budget=rules.budget,
        per_member_limit=rules.per_member_limit,
    )


def details_of(row: repository.ActivityRow) -> ActivityDetails:
    return ActivityDetails(
        activity=row.info,
        rules=rules_from_row(
            row.rule,
            row.scope,
            priority=row.priority,
            exclusive=row.exclusive,
            stack_group=row.stack_group,
            budget=row.budget,
            per_member_limit=row.per_member_limit,
        ),
        budget_used=row.budget_used,
    )


async def _activity_row(
    session: AsyncSession, tenant_id: uuid.UUID, activity_id: uuid.UUID
) -> repository.ActivityRow:
    found = await repository.activity_rows_by_ids(session, tenant_id, [activity_id])
    if not found:
        raise UserInputError(
            "activity not found", code="ACTIVITY_NOT_FOUND", field=["input", "activityId"]
        )
    return found[0]


async def set_rules(
    session: AsyncSession, tenant_id: uuid.UUID, activity_id: uuid.UUID, rules: PromotionRules
) -> ActivityDetails:
    """Replace a DRAFT activity's rules; a live activity's rules do not change under
    the carts priced with them (end it and create another)."""
    row = await _activity_row(session, tenant_id, activity_id)
    if row.info.status is not PromotionStatus.DRAFT:
        raise UserInputError(
            "only a draft activity's rules can change",
            code="NOT_DRAFT",
            field=["input", "activityId"],
        )
    check_rules(row.info.kind, rules)
    await _store_rules(session, tenant_id, activity_id, rules)
    return details_of((await repository.activity_rows_by_ids(session, tenant_id, [activity_id]))[0])


async def activate(
    session: AsyncSession, tenant_id: uuid.UUID, activity_id: uuid.UUID
) -> ActivityDetails:
    """DRAFT → ACTIVE: from now on checkout applies it inside its window."""
    row = await _activity_row(session, tenant_id, activity_id)
    if row.info.kind not in PRICED_KINDS:
        raise UserInputError(
            f"{row.info.kind.value} activities are not priced at checkout yet",
            code="KIND_NOT_PRICED",
            field=["input", "activityId"],
        )
    details = details_of(row)
    check_rules(row.info.kind, details.rules)
    if not await repository.set_activity_status(
        session, tenant_id, activity_id, status="ACTIVE", from_statuses=["DRAFT"]
    ):
        raise UserInputError(
            "only a draft activity can be activated",
            code="INVALID_TRANSITION",
            field=["input", "activityId"],
        )
    return details_of((await repository.activity_rows_by_ids(session, tenant_id, [activity_id]))[0])


async def end(
    session: AsyncSession, tenant_id: uuid.UUID, activity_id: uuid.UUID
) -> ActivityDetails:
    """DRAFT or ACTIVE → ENDED, for good."""
    await _activity_row(session, tenant_id, activity_id)
    if not await repository.set_activity_status(
        session, tenant_id, activity_id, status="ENDED", from_statuses=["DRAFT", "ACTIVE"]
    ):
        raise UserInputError(
            "the activity has ended already",
            code="INVALID_TRANSITION",
            field=["input", "activityId"],
        )
    return details_of((await repository.activity_rows_by_ids(session, tenant_id, [activity_id]))[0])

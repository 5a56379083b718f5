"""The platform's own roles: who is a platform admin (rows of the nil tenant).

Called in the platform scope (``kernel.db.bind_platform``): the role that holds
privileges on the platform's policy rows and on nothing of any tenant.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kernel.authz.audit import CHANGED, AuditEntry, record_change
from kernel.authz.roles import check_subject
from kernel.authz.rules import PLATFORM_TENANT, assign_role, delete_rows, load_version, policy_rule
from kernel.errors import UserInputError

PLATFORM_ADMIN = "role:platform_admin"


async def admins(session: AsyncSession) -> list[str]:
    rows = await session.scalars(
        sa.select(policy_rule.c.subject)
        .where(
            policy_rule.c.tenant_id == PLATFORM_TENANT,
            policy_rule.c.ptype == "g2",
            policy_rule.c.object == PLATFORM_ADMIN,
        )
        .order_by(policy_rule.c.subject)
    )
    return list(rows.all())


async def set_admin(
    session: AsyncSession, subject: str, *, admin: bool, actor: str, request_id: str
) -> int:
    """Make ``subject`` a platform admin or not; returns the platform policy version.

    An admin cannot remove themselves, so the platform always keeps one.
    """
    check_subject(subject, ["input", "subject"])
    if not admin and subject == actor:
        raise UserInputError(
            "a platform admin cannot remove themselves",
            code="CANNOT_REMOVE_SELF",
            field=["input", "subject"],
        )
    if admin:
        await assign_role(session, PLATFORM_TENANT, subject, "platform_admin")
    else:
        await delete_rows(session, PLATFORM_TENANT, "g2", subject=subject, obj=PLATFORM_ADMIN)
    version = await load_version(session, PLATFORM_TENANT)
    await record_change(
        session,
        AuditEntry(
            tenant_id=PLATFORM_TENANT,
            request_id=request_id,
            subject=actor,
            object="platform.admin",
            action="assign" if admin else "unassign",
            result=CHANGED,
            matched_rule="platform change",
            policy_version=version,
            detail={"subject": subject},
        ),
    )
    return version

"""Markdown tables of each state machine, for docs/orders.md (kept current by a test)."""

from __future__ import annotations

from centers.order.machine.model import Machine


def transitions_table(machine: Machine) -> str:
    rows = ["| event | from | to | who | guards | effects |", "|---|---|---|---|---|---|"]
    for t in machine.transitions:
        rows.append(
            f"| `{t.event}` | {', '.join(sorted(t.sources))} | {t.target} | "
            f"{', '.join(sorted(a.value.lower() for a in t.by))} | "
            f"{', '.join(t.guards) or '–'} | {', '.join(t.effects) or '–'} |"
        )
    return "\n".join(rows)


def views_table(machine: Machine) -> str:
    rows = ["| state | buyer | merchant | ERP |", "|---|---|---|---|"]
    for state in sorted(machine.views):
        view = machine.views[state]
        rows.append(f"| {state} | {view.buyer} | {view.merchant} | {view.erp} |")
    return "\n".join(rows)

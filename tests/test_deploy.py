"""The ready-made Grafana dashboard and Prometheus alerts only use metrics ``/metrics``
serves: a renamed metric fails here, not silently on an operator's wall."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import yaml

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
METRIC = re.compile(r"\bzhongtai_[a-z_]+\b")


def _exprs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["expr"]] if isinstance(node.get("expr"), str) else []
        return found + [e for value in node.values() for e in _exprs(value)]
    if isinstance(node, list):
        return [e for value in node for e in _exprs(value)]
    return []


def _served(exposition: str) -> set[str]:
    """Every sample name the exposition declares, histogram and counter suffixes included."""
    names: set[str] = set()
    for line in exposition.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            names.add(name)
            if kind == "histogram":
                names |= {f"{name}_bucket", f"{name}_count", f"{name}_sum"}
            if kind == "counter":
                names |= {f"{name}_total", f"{name}_created"}
    return names


def _alert_rules() -> list[dict[str, Any]]:
    loaded = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())
    return [rule for group in loaded["groups"] for rule in group["rules"]]


def test_alert_rules_are_complete() -> None:
    rules = _alert_rules()
    names = {rule["alert"] for rule in rules}
    assert {
        "ZhongtaiOutboxLagging",
        "ZhongtaiDeadLettersGrowing",
        "ZhongtaiCircuitBreakerOpen",
        "ZhongtaiGraphQLErrorRate",
    } <= names
    for rule in rules:
        assert rule["labels"]["severity"] in ("warning", "critical"), rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
        assert METRIC.search(rule["expr"]), rule["alert"]


async def test_dashboard_and_alerts_use_only_served_metrics(client: httpx.AsyncClient) -> None:
    response = await client.get("/metrics")
    assert response.status_code == 200
    served = _served(response.text)
    dashboards = sorted((DEPLOY / "grafana").glob("*.json"))
    assert dashboards
    exprs = [e for path in dashboards for e in _exprs(json.loads(path.read_text()))]
    exprs += [rule["expr"] for rule in _alert_rules()]
    used = {name for expr in exprs for name in METRIC.findall(expr)}
    assert len(used) >= 15
    assert used - served == set()

"""Shared fixtures: small pools and items built in code."""

from __future__ import annotations

import pytest

import randcheck as rc


def make_entities(count: int = 120) -> list[dict[str, object]]:
    """Entity records with a spread of categories and risk facts."""
    rows = []
    for i in range(count):
        rows.append(
            {
                "id": f"E{i:04d}",
                "name": f"单位{i}",
                "category": ("取水许可", "一般排污单位", "重点排污单位")[i % 3],
                "station": ("水利工作站", "环境监察大队", "环境监察大队")[i % 3],
                "region": ("沙柳河镇", "哈尔盖镇")[i % 2],
                "credit_class": ("A", "B", "C", "D", "")[i % 5],
                "blacklisted": i % 23 == 0,
                "verified_complaints": i % 7 if i % 11 == 0 else 0,
                "serious_violation": i % 31 == 0,
            }
        )
    return rows


def make_items() -> list[rc.Item]:
    """Three items over the categories of :func:`make_entities`."""
    return [
        rc.Item(
            code="SL-01",
            name="取水许可实施情况监督检查",
            station="水利工作站",
            legal_basis="《取水许可和水资源费征收管理条例》",
            categories=["取水许可"],
            ratio="0.1",
        ),
        rc.Item(
            code="HJ-01",
            name="污染防治设施运行情况检查",
            station="环境监察大队",
            legal_basis="《中华人民共和国环境保护法》",
            categories=["一般排污单位"],
            ratio="0.05",
        ),
        rc.Item(
            code="HJ-02",
            name="重点排污单位污染物排放检查",
            station="环境监察大队",
            legal_basis="《排污许可管理条例》",
            categories=["重点排污单位", "一般排污单位"],
            ratio="0.25",
            kind="key",
            policy=rc.RiskWeighted(certain=["blacklisted"]),
        ),
    ]


@pytest.fixture
def entities() -> rc.EntityPool:
    """A 120-entity pool."""
    return rc.EntityPool.from_records(make_entities())


@pytest.fixture
def items() -> list[rc.Item]:
    """Three items, one risk-weighted."""
    return make_items()

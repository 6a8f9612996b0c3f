"""The dashboard's files: served by the API, Chinese labels, nothing fetched from elsewhere."""

from __future__ import annotations

import re

from api.routers.dashboard import FILES, ROOT


def test_dashboard_page_and_assets_are_served(client):
    r = client.get("/dashboard", follow_redirects=False)
    assert r.status_code == 307 and r.headers["location"] == "/dashboard/"
    page = client.get("/dashboard/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    for label in ("隐患整改率", "季报率", "自主报送率", "零隐患率", "逾期未改", "登录"):
        assert label in page.text or label in client.get("/dashboard/app.js").text
    assert client.get("/dashboard/app.js").headers["content-type"].startswith("text/javascript")
    assert client.get("/dashboard/style.css").headers["content-type"].startswith("text/css")
    assert client.get("/dashboard/secret.py").status_code == 404
    assert client.get("/dashboard/..%2Fapp.py").status_code == 404
    # Not part of the API contract.
    assert not any(p.startswith("/dashboard") for p in client.get("/openapi.json").json()["paths"])


def test_dashboard_needs_no_network_beyond_its_own_origin():
    for name in FILES:
        text = (ROOT / name).read_text(encoding="utf-8")
        assert not re.search(r"(src|href)\s*=\s*[\"']?https?://", text), name
        assert "cdn" not in text.lower(), name
        assert "<script>" not in text, name  # no inline script: the CSP forbids it

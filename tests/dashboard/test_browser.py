"""The dashboard end to end in a real headless Chromium: log in, open a township, click a number.

Debian's chromium (/usr/bin/chromium), driven by the pip `playwright` package; .ci/run installs
it when missing. Without it this test fails: a dashboard nobody has opened is not tested.
The screenshot lands in .data/artifacts/dashboard.png (HAZARDTRACK_UPDATE_DOCS=1: docs/dashboard.png,
the copy the README shows).
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest
import uvicorn

from services import summary
from services.demo import PROVINCE
from tests.summary.demo_data import CHENGGUAN, COUNTY, load_demo_with_figures

CHROMIUM = os.environ.get("HAZARDTRACK_CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = (
    ROOT / "docs" / "dashboard.png"
    if os.environ.get("HAZARDTRACK_UPDATE_DOCS")
    else ROOT / ".data" / "artifacts" / "dashboard.png"
)
PERIOD = "2026Q3"
WAIT = 60_000  # ms; the machine is shared, so a slow moment is no failure


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(app):
    """The API on a real port, in this process (same test database)."""
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert time.monotonic() < deadline, "the API did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def browser():
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: apt-get install -y chromium "
            "(the browser test must run, not skip)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            yield b
        finally:
            b.close()


def _api(base: str, token: str, path: str, **params) -> dict:
    r = httpx.get(
        f"{base}/api/v1{path}", params=params, headers={"Authorization": f"Bearer {token}"}
    )
    assert r.status_code == 200, r.text
    return r.json()


def _rate_text(rate: dict) -> str:
    return f"{rate['numerator']}/{rate['denominator']}{summary.pct(rate)}"


def _check_rows(page, breakdown: dict) -> None:
    """Every child region's row shows the API's numerators, denominators and rates."""
    assert page.locator("#breakdown tbody tr[data-region]").count() == len(breakdown["items"])
    for item in breakdown["items"]:
        row = page.locator(f'#breakdown tbody tr[data-region="{item["region_code"]}"]')
        m = item["metrics"]
        assert row.locator("td.name").inner_text() == item["region_name"]
        for metric in ("rectification_rate", "reporting_rate", "self_reporting_rate",
                       "zero_hazard_rate", "coverage"):  # fmt: skip
            cell = row.locator(f'td[data-metric="{metric}"]').inner_text().replace(" ", "")
            assert cell == _rate_text(m[metric]), (item["region_name"], metric, cell)
        for metric in ("hazards_found", "overdue_hazards"):
            cell = row.locator(f'td[data-metric="{metric}"]').inner_text()
            assert cell == str(m[metric]["count"]), (item["region_name"], metric)


def _token(base: str, username: str, password: str) -> str:
    r = httpx.post(f"{base}/api/v1/auth/token", data={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def _logged_in_page(browser, base: str, username: str, password: str):
    """The dashboard after logging in, and the list its script errors are collected in."""
    page = browser.new_page(viewport={"width": 1360, "height": 900}, locale="zh-CN")
    page.set_default_timeout(WAIT)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "console",
        lambda msg: errors.append(f"{msg.text} {msg.location}") if msg.type == "error" else None,
    )
    page.goto(f"{base}/dashboard/?period={PERIOD}")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#login-button")
    return page, errors


def test_county_user_logs_in_opens_a_township_and_the_numbers_match_the_api(server, browser):
    load_demo_with_figures()
    token = _token(server, "county", "county-pass-1")
    page, errors = _logged_in_page(browser, server, "county", "county-pass-1")
    page.wait_for_selector(f'#board[data-loaded="{COUNTY}:{PERIOD}:live"]', timeout=WAIT)
    assert page.evaluate("sessionStorage.getItem('hazardtrack.token')")

    # The county: its cards and one row per township, as the API has them.
    county = _api(server, token, "/metrics", region=COUNTY, period=PERIOD)["metrics"]
    card = page.locator('#cards .figure[data-metric="rectification_rate"]')
    assert card.locator(".value").inner_text() == summary.pct(county["rectification_rate"])
    assert card.locator(".parts").inner_text().replace(" ", "") == (
        f"{county['rectification_rate']['numerator']}/{county['rectification_rate']['denominator']}"
    )
    _check_rows(page, _api(server, token, "/metrics/breakdown", region=COUNTY, period=PERIOD))
    assert page.locator("#breakdown tfoot td[data-metric=hazards_found]").inner_text() == str(
        county["hazards_found"]["count"]
    )
    assert page.locator("#breakdown-title").inner_text() == "各乡镇（街道）情况"

    # The trend: one dot per quarter with a figure, for each of the four rates.
    series = _api(
        server, token, "/metrics/series", region=COUNTY, **{"from": "2024Q4", "to": PERIOD}
    )
    with_rate = [
        i for i in series["items"] if i["metrics"]["rectification_rate"]["value"] is not None
    ]
    dots = page.locator('#trend-svg circle[data-metric="rectification_rate"]')
    assert dots.count() == len(with_rate) > 0

    # Open a township: its figures, its villages, its overdue and major hazards and its flags.
    page.click(f'#breakdown tbody tr[data-region="{CHENGGUAN}"] a.region-link')
    page.wait_for_selector(f'#board[data-loaded="{CHENGGUAN}:{PERIOD}:live"]', timeout=WAIT)
    assert "城关街道" in page.locator("#crumbs").inner_text()
    assert page.locator("#breakdown-title").inner_text() == "各村（社区）情况"
    township = _api(server, token, "/metrics", region=CHENGGUAN, period=PERIOD)["metrics"]
    for metric in (
        "rectification_rate",
        "reporting_rate",
        "self_reporting_rate",
        "zero_hazard_rate",
    ):
        card = page.locator(f'#cards .figure[data-metric="{metric}"]')
        assert card.locator(".value").inner_text() == summary.pct(township[metric]), metric
    _check_rows(page, _api(server, token, "/metrics/breakdown", region=CHENGGUAN, period=PERIOD))
    overdue = _api(server, token, "/hazards", region=CHENGGUAN, overdue="true", limit=200)["items"]
    assert page.locator("#overdue tbody tr[data-id]").count() == len(overdue) > 0
    assert page.locator("#overdue-count").inner_text() == str(len(overdue))
    flags = _api(server, token, "/metrics/flags", region=CHENGGUAN, period=PERIOD)["items"]
    assert page.locator("#flags-count").inner_text() == str(len(flags))
    for flag in flags:
        assert flag["unit_name"] in page.locator("#flags").inner_text()

    # Click a number: the records behind it, as many as the number says.
    rate = township["rectification_rate"]
    page.click('#cards .figure[data-metric="rectification_rate"] a[data-part="denominator"]')
    page.wait_for_selector("#members:not([hidden]) #members-total[data-total]")
    assert page.locator("#members-total").get_attribute("data-total") == str(rate["denominator"])
    assert page.locator("#members-table tbody tr").count() == rate["denominator"]
    assert "隐患整改率" in page.locator("#members-title").inner_text()
    members = _api(
        server, token, "/metrics/members", region=CHENGGUAN, period=PERIOD,
        metric="rectification_rate", part="denominator", limit=500,
    )  # fmt: skip
    statuses = page.locator("#members-table tbody td:nth-child(5)").all_inner_texts()
    assert statuses.count("已销号") == sum(1 for i in members["items"] if i["status"] == "closed")
    assert statuses.count("已销号") == rate["numerator"]

    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert SCREENSHOT.stat().st_size > 10_000
    assert not errors, errors

    # Logging out forgets the token.
    page.click("#logout")
    assert page.evaluate("sessionStorage.getItem('hazardtrack.token')") is None
    assert page.locator("#login").is_visible()


def test_admin_of_no_region_starts_from_the_top_of_the_tree(server, browser):
    """An admin belongs to no region (before, the dashboard asked for a 12-digit code): with one
    top region it opens, with several they are listed to pick from, and the first crumb leads
    back to the top."""
    load_demo_with_figures()
    token = _token(server, "admin", "admin-pass-1")
    page, errors = _logged_in_page(browser, server, "admin", "admin-pass-1")
    # The demo has one top region, the province: it opens at once.
    page.wait_for_selector(f'#board[data-loaded="{PROVINCE}:{PERIOD}:live"]')
    assert page.locator("#picker").is_hidden()
    assert page.locator("#crumbs").inner_text().startswith("全部区域")
    _check_rows(page, _api(server, token, "/metrics/breakdown", region=PROVINCE, period=PERIOD))

    r = httpx.put(
        f"{server}/api/v1/regions/340000000000",
        json={"name": "安徽省"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 201, r.text
    roots = [item["code"] for item in _api(server, token, "/regions")["items"]]
    assert roots == [PROVINCE, "340000000000"]
    page.click("#crumb-top")
    page.wait_for_selector("#picker:not([hidden])")
    listed = page.locator("#picker-list li").evaluate_all("els => els.map(e => e.dataset.region)")
    assert listed == roots
    assert "安徽省" in page.locator("#picker-list").inner_text()
    assert not page.locator("#breakdown").is_visible()  # no figures until a region is chosen

    # The new province, which has no records yet, opens with empty figures.
    page.click('#picker-list li[data-region="340000000000"] a')
    page.wait_for_selector(f'#board[data-loaded="340000000000:{PERIOD}:live"]')
    assert page.locator("#picker").is_hidden()
    assert page.locator("#breakdown").is_visible()
    assert page.locator("#crumbs").inner_text().replace(" ", "") == "全部区域›安徽省"
    assert not errors, errors

"""The dashboard in a real headless browser: Debian's Chromium driven through Selenium.

Flow: list, filter, search, open an instance, read its history, press terminate and see
the status change; open the Entities tab, an entity's state, lock holder and queue, signal
it and see its state change; user data that looks like HTML shows as text. Screenshots are saved to
the test's temporary folder, and also to ``$DASHBOARD_SCREENSHOT_DIR`` when set (that is
how ``docs/images/dashboard-*.png`` are made: see docs/observability.md).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from durabletask import client
from durabletask.entities import EntityInstanceId
from tests.durabletask.dashboard.conftest import (
    Dashboard,
    approval,
    broken,
    greeter,
    holds_lock,
)
from tests.durabletask.helpers.wait import poll_until

pytest.importorskip("aiohttp", reason="the dashboard needs aiohttp (pip install '.[dashboard]')")
pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
# Every wait in the page is bounded by this.
WAIT_SECONDS = 10
HOSTILE_NAME = "<img src=x onerror=\"document.title='pwned'\">"


def _missing() -> str | None:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        return (f"the browser test needs Debian's chromium and chromium-driver "
                f"({', '.join(missing)} missing): apt-get install chromium chromium-driver")
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "the browser test needs selenium: pip install -e '.[dev]'"
    return None


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    """A headless Chromium with a fresh profile; quit (and its processes ended) after the test."""
    reason = _missing()
    if reason is not None:
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    profile = tempfile.mkdtemp(prefix="chromium-profile-", dir=tmp_path)
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--window-size=1280,900",
                 f"--user-data-dir={profile}"):
        options.add_argument(flag)
    # An explicit driver path: Selenium Manager never downloads anything.
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _screenshot(driver: Any, tmp_path: Path, name: str) -> Path:
    shot = tmp_path / f"{name}.png"
    driver.save_screenshot(str(shot))
    assert shot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    target = os.environ.get("DASHBOARD_SCREENSHOT_DIR")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(target) / shot.name)
    return shot


def _until(driver: Any, condition: Callable[[Any], Any], message: str) -> Any:
    from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    # The live refresh may replace an element between finding and using it: try again.
    wait = WebDriverWait(driver, WAIT_SECONDS, poll_frequency=0.05,
                         ignored_exceptions=(StaleElementReferenceException,))
    try:
        return wait.until(condition)
    except TimeoutException:
        shown = driver.find_element(By.ID, "error").text
        raise AssertionError(
            f"timed out after {WAIT_SECONDS}s waiting for {message}; rows {_row_ids(driver)}, "
            f"entity rows {_row_ids(driver, 'entities')}, "
            f"error banner {shown!r}, browser log {driver.get_log('browser')}"
        ) from None


def _click(driver: Any, by: str, value: str) -> None:
    """Click the element, finding it again if the live refresh replaced it first."""
    _until(driver, lambda d: d.find_element(by, value).click() or True, f"to click {value!r}")


def _row_ids(driver: Any, table: str = "instances") -> list[str]:
    # Read in one script: the live refresh may replace the rows between two WebDriver calls.
    return driver.execute_script(
        "return [...document.querySelectorAll(`#${arguments[0]} tbody tr`)].map(r => r.dataset.id)",
        table,
    )


def _text(driver: Any, element_id: str) -> str:
    return driver.execute_script(
        "const e = document.getElementById(arguments[0]); return e ? e.textContent : ''",
        element_id,
    )


def client_for_hub(board: Dashboard, hub: str, token: str) -> client.TaskHubGrpcClient:
    return client.TaskHubGrpcClient(
        host_address=board.sidecar.address,
        metadata=[("taskhub", hub), ("authorization", f"Bearer {token}")],
    )


def _populate(board: Dashboard) -> None:
    for name in ("Ada", "Grace", "Linus"):
        board.completed(greeter, f"greet-{name.lower()}", name)
    board.completed(broken, "nightly-report")
    board.running(approval, "order-approval-42")
    # No worker knows this orchestrator, so it fails; its name and id are shown on the list.
    board.completed(HOSTILE_NAME, "<b>bold</b>")


def test_list_filter_open_read_history_and_terminate_in_a_browser(dashboard, browser, tmp_path):
    from selenium.webdriver.common.by import By

    _populate(dashboard)
    browser.get(dashboard.sidecar.dashboard_url)
    _until(browser, lambda d: len(_row_ids(d)) == 6, "six instances listed")
    _screenshot(browser, tmp_path, "dashboard-instances")

    # User data that looks like HTML is shown as text, never parsed.
    hostile = '#instances tr[data-id="<b>bold</b>"]'
    assert _until(browser, lambda d: d.find_element(
        By.CSS_SELECTOR, f"{hostile} td:nth-child(2)").text, "the hostile name") == HOSTILE_NAME
    assert _until(browser, lambda d: d.find_element(
        By.CSS_SELECTOR, f"{hostile} td.id").text, "the hostile id") == "<b>bold</b>"
    assert browser.find_elements(By.CSS_SELECTOR, "main img, main b") == []
    assert browser.title == "durabletask dashboard"

    _click(browser, By.CSS_SELECTOR, '#status-filters button[data-status="FAILED"]')
    _until(browser, lambda d: _row_ids(d) == ["<b>bold</b>", "nightly-report"],
           "only the failed instances")
    _click(browser, By.CSS_SELECTOR, '#status-filters button[data-status=""]')
    browser.find_element(By.ID, "search").send_keys("approval")
    _until(browser, lambda d: _row_ids(d) == ["order-approval-42"], "the searched instance")

    _click(browser, By.LINK_TEXT, "order-approval-42")
    _until(browser, lambda d: d.find_element(By.ID, "instance-status").text == "RUNNING",
           "the instance page")
    kinds = _until(browser, lambda d: [li.get_attribute("data-kind")
                                       for li in d.find_elements(By.CSS_SELECTOR, "#history li")],
                   "the history")
    assert "executionStarted" in kinds
    assert _text(browser, "overview").count("approval") == 1
    _screenshot(browser, tmp_path, "dashboard-instance")

    _click(browser, By.ID, "action-terminate")
    browser.find_element(By.CSS_SELECTOR, '#action-form textarea[name="output"]').send_keys(
        '"stopped from the dashboard"')
    _click(browser, By.ID, "action-run")
    _until(browser, lambda d: d.find_element(By.ID, "instance-status").text == "TERMINATED",
           "the terminated status")
    _until(browser, lambda d: "stopped from the dashboard" in d.find_element(By.ID, "output").text,
           "the termination output")
    _screenshot(browser, tmp_path, "dashboard-terminated")
    state = dashboard.client.get_orchestration_state("order-approval-42")
    assert state is not None
    assert state.runtime_status.name == "TERMINATED"


def test_with_a_token_the_page_asks_for_it_and_then_shows_the_instances(
    make_dashboard, browser, tmp_path
):
    from selenium.webdriver.common.by import By

    board = make_dashboard(with_worker=False, require_token="s3cret", taskhubs=("orders",))
    with client_for_hub(board, "orders", "s3cret") as orders:
        orders.schedule_new_orchestration("ship", instance_id="order-1")
    browser.get(board.sidecar.dashboard_url)
    _until(browser, lambda d: d.find_element(By.ID, "signin").is_displayed(), "the sign-in form")
    assert "requires a token" in browser.find_element(By.ID, "error").text

    browser.find_element(By.ID, "token").send_keys("guess\n")
    _until(browser, lambda d: "not accepted" in d.find_element(By.ID, "error").text,
           "the refusal of a wrong token")
    browser.find_element(By.ID, "token").send_keys("s3cret\n")
    _until(browser, lambda d: _row_ids(d) == ["order-1"], "the hub's instance")

    assert browser.find_element(By.ID, "hub").get_attribute("value") == "orders"
    assert browser.execute_script("return sessionStorage.getItem('durabletask.token')") == "s3cret"
    _screenshot(browser, tmp_path, "signed-in")


def _populate_entities(board: Dashboard) -> None:
    c = board.client
    c.signal_entity(EntityInstanceId("counter", "apples"), "add", input=3)
    for item in ("book", "<b>pen</b>"):
        c.signal_entity(EntityInstanceId("Cart", "alice"), "add_item", input=item)
    c.schedule_new_orchestration(holds_lock, input="pears", instance_id="stock-take-7")
    poll_until(lambda: (e := board.http.get("/api/entities/@counter@pears")).status == 200
               and e.json["lockedBy"], message="stock-take-7 to hold the lock")
    # Queued behind the lock of stock-take-7 until it ends.
    c.signal_entity(EntityInstanceId("counter", "pears"), "add", input=5)
    poll_until(lambda: (e := c.get_entity(EntityInstanceId("Cart", "alice"))) is not None
               and len(e.get_typed_state(list)) == 2
               and c.get_entity(EntityInstanceId("counter", "apples")),
               message="the entities' states")


def test_entities_tab_lists_opens_shows_the_lock_holder_and_signals_in_a_browser(
    dashboard, browser, tmp_path
):
    from selenium.webdriver.common.by import By

    _populate_entities(dashboard)
    browser.get(dashboard.sidecar.dashboard_url)
    _click(browser, By.ID, "tab-entities")
    _until(browser, lambda d: _row_ids(d, "entities") == ["@cart@alice", "@counter@apples"],
           "the entities with state")
    _click(browser, By.ID, "entity-transient")
    _until(browser, lambda d: "@counter@pears" in _row_ids(d, "entities"),
           "the locked entity without state")
    _until(browser, lambda d: "stock-take-7" in d.find_element(
        By.CSS_SELECTOR, '#entities tr[data-id="@counter@pears"]').text, "the lock holder's id")
    _screenshot(browser, tmp_path, "dashboard-entities")

    _click(browser, By.LINK_TEXT, "@counter@pears")
    _until(browser, lambda d: "stock-take-7" in _text(d, "entity-locked-by"), "the lock holder")
    assert _text(browser, "entity-backlog") == "1 message"
    queue = _until(browser, lambda d: d.find_element(
        By.CSS_SELECTOR, '#entity-queue tr[data-kind="signal"]').text, "the queued signal")
    assert "add" in queue
    assert "client" in queue
    _screenshot(browser, tmp_path, "dashboard-entity")
    _click(browser, By.CSS_SELECTOR, "#entity-locked-by a")
    _until(browser, lambda d: _text(d, "instance-title") == "stock-take-7"
           and _text(d, "instance-status") == "RUNNING", "the lock holder's instance page")

    _click(browser, By.ID, "tab-entities")
    browser.find_element(By.ID, "entity-search").send_keys("cart")
    _until(browser, lambda d: _row_ids(d, "entities") == ["@cart@alice"], "the searched entity")
    _click(browser, By.LINK_TEXT, "@cart@alice")
    _until(browser, lambda d: "<b>pen</b>" in _text(d, "entity-state"), "the cart's state")
    assert browser.find_elements(By.CSS_SELECTOR, "main b") == []

    form = browser.find_element(By.ID, "signal-form")
    form.find_element(By.NAME, "operation").send_keys("add_item")
    form.find_element(By.NAME, "input").send_keys('"pencil"')
    _click(browser, By.ID, "signal-run")
    _until(browser, lambda d: "pencil" in _text(d, "entity-state"), "the signalled state")
    _screenshot(browser, tmp_path, "dashboard-entity-signalled")
    cart = dashboard.client.get_entity(EntityInstanceId("Cart", "alice"))
    assert cart is not None
    assert cart.get_typed_state() == ["book", "<b>pen</b>", "pencil"]

"""kfdeploy ui end to end in a real headless chromium (Debian's chromium and chromium-driver,
installed by `make browser`): edit the spec in the form and see validate's error come and go,
plan, apply until every application is Healthy, reveal the login, reload for the status, delete.
Screenshots go to build/test-artifacts/ui/ (KFDEPLOY_UPDATE_SCREENSHOT=1 also renews the
README's docs/img/ui.png); the page never shows a generated credential before
the reveal, nor after a reload."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import StaleElementReferenceException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from kfdeploy.kube.client import Cluster  # noqa: E402

from .test_credentials import stored_values, write_spec  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "build" / "test-artifacts" / "ui"
README_SHOT = REPO / "docs" / "img" / "ui.png"


@pytest.fixture()
def browser() -> Iterator[Any]:
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not chromium or not driver:
        pytest.fail("chromium and chromedriver are missing: `make browser` installs Debian's")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1000"):
        options.add_argument(arg)
    session = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=driver))
    try:
        yield session
    finally:
        session.quit()


@pytest.fixture()
def served(cluster: Any, tmp_path: Path) -> Iterator[tuple[str, Path, str]]:
    """(url, spec, name): `kfdeploy ui --no-browser` serving a fresh spec against the test cluster."""
    name = f"uib-{uuid.uuid4().hex[:6]}"
    spec = write_spec(tmp_path, name)
    process = subprocess.Popen([sys.executable, "-m", "kfdeploy", "ui", "--no-browser", "-f", str(spec),
                                "--kubeconfig", str(cluster.kubeconfig)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ)
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        found = re.search(r"http://127\.0\.0\.1:\d+/\?token=\S+", first)
        assert found, f"no URL in {first!r}: {process.stderr.read() if process.poll() is not None else ''}"
        yield found.group(0), spec, name
    finally:
        process.terminate()
        process.wait(timeout=30)


def readme_shot(browser: Any) -> None:
    """The README's picture (the graph and the plan), scaled down, to the artifacts; to
    docs/img/ui.png as well with KFDEPLOY_UPDATE_SCREENSHOT=1."""
    from PIL import Image
    path = ARTIFACTS / "readme.png"
    browser.save_screenshot(str(path))
    with Image.open(path) as image:
        image.resize((image.width * 3 // 4, image.height * 3 // 4)).save(path, optimize=True)
    if os.environ.get("KFDEPLOY_UPDATE_SCREENSHOT") == "1":
        shutil.copyfile(path, README_SHOT)


def test_the_page_deploys_end_to_end(browser: Any, served: tuple[str, Path, str], cluster: Any) -> None:
    url, spec, name = served
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pages: list[str] = []

    def wait_for(what: str, check: Callable[[], Any], seconds: float = 30) -> Any:
        # the page re-renders its status while a check reads it: a stale element is read again
        return WebDriverWait(browser, seconds, poll_frequency=0.25,
                             ignored_exceptions=[StaleElementReferenceException]).until(lambda _: check(), message=what)

    def text(element_id: str) -> str:
        return str(browser.find_element(By.ID, element_id).text)

    def shot(step: str) -> None:
        pages.append(browser.page_source)
        browser.save_screenshot(str(ARTIFACTS / f"{step}.png"))

    browser.get(url)
    wait_for("the spec is valid", lambda: "valid KfDef" in text("problems"))
    field = browser.find_element(By.ID, "f-name")
    field.clear()
    field.send_keys("Bad_Name")
    wait_for("the form writes the YAML", lambda: "name: Bad_Name" in browser.find_element(By.ID, "yaml")
             .get_property("value"))
    wait_for("validate's error on metadata.name", lambda: "metadata.name" in text("problems")
             and "Bad_Name" in text("problems"))
    shot("1-validation-error")
    field.clear()
    field.send_keys(name)
    wait_for("the error clears", lambda: f"valid KfDef '{name}'" in text("problems"))
    browser.find_element(By.ID, "save").click()
    wait_for("saved", lambda: "saved" in text("saved"))
    assert f"name: {name}" in spec.read_text(encoding="utf-8")

    browser.find_element(By.ID, "plan-btn").click()
    wait_for("the plan", lambda: browser.find_elements(By.ID, "plan-text"), 120)
    assert "Plan:" in str(browser.find_element(By.ID, "plan-text").get_attribute("textContent"))
    nodes = [n.get_attribute("id")[len("node-"):] for n in browser.find_elements(By.CSS_SELECTOR, "#graph g")]
    assert len(nodes) >= 3 and all(browser.find_element(By.ID, f"plan-{n}") for n in nodes)
    shot("2-plan")

    browser.find_element(By.ID, "apply-btn").click()
    wait_for("apply finishes", lambda: "Applied" in text("result") or "FAILED" in text("result"), 900)
    assert "Applied" in text("result"), text("result") + text("log")
    wait_for("every application Healthy", lambda: [text(f"status-{n}").split()[1] for n in nodes]
             == ["Healthy"] * len(nodes), 60)
    assert all(f"{n}: applied" in text("log") or f"{n}: unchanged" in text("log") for n in nodes)
    shot("3-applied")
    browser.execute_script("document.getElementById('plan-h').scrollIntoView()")
    readme_shot(browser)

    kube = Cluster.connect(cluster.kubeconfig, cluster.context)
    generated = [v for v in stored_values(kube, name) if len(v) >= 8]
    assert generated and not [v for v in generated for page in pages if v in page]

    browser.find_element(By.ID, "reveal").click()
    wait_for("the login", lambda: text("password") != "")
    assert text("password") in generated

    browser.get(url)  # re-open: status again, the login hidden again
    wait_for("status after reload", lambda: all(text(f"status-{n}").split()[1] == "Healthy" for n in nodes), 60)
    shot("4-reloaded")
    assert not [v for v in generated if v in browser.page_source]

    browser.find_element(By.ID, "d-confirm").send_keys(name)
    wait_for("delete enabled", lambda: browser.find_element(By.ID, "delete-btn").is_enabled())
    browser.find_element(By.ID, "delete-btn").click()
    wait_for("delete finishes", lambda: "Deleted" in text("result") or "error" in text("result"), 600)
    assert "Deleted" in text("result"), text("result")
    shot("5-deleted")

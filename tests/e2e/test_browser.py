"""Neo4j Browser as a user meets it (issue 5): the local server's /browser/ in headless Chromium.

A LocalNeo4j with the HTTP connector on (the session fixture leaves it off) gets the sample vault;
Chromium opens /browser/ with the connection and the README's "what comes before GRPO" query
pre-filled through Browser's URL parameters (`dbms`, `db`, `preselectAuthMethod`, `cmd=edit&arg=`,
all read by the Browser 5.24 that Neo4j 5.26 ships), logs in with the password, runs the query
and reads the rendered graph back from the DOM. The result frame is kept as a PNG under
`$KG_ARTIFACTS` (default `tests/artifacts/`), in `screenshots/` (gitignored); its path is printed.

Driven by Selenium with Debian's chromium + chromium-driver (same build, no driver download).
Skipped when those are missing, unless KG_REQUIRE_BROWSER=1 (CI), which makes it fail instead.
"""

from __future__ import annotations

import os
import re
import shutil
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest
from neo4j import GraphDatabase

from kg.local_neo4j import LocalNeo4j, LocalNeo4jError, find_free_port
from kg.pipeline import ingest_vault
from kg.resources import sample_vault_dir
from kg.settings import Settings

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "kg-browser-test-password"
START_TIMEOUT_S = 300.0  # a cold JVM on a busy 2-core box
UI_TIMEOUT_S = 60.0
README_QUERY_COMMENT = "// What comes before GRPO"
SCREENSHOT_NAME = "neo4j-browser-what-comes-before-grpo.png"


def _browser_unavailable(reason: str) -> NoReturn:
    if os.environ.get("KG_REQUIRE_BROWSER") == "1":
        pytest.fail(f"the Browser test is required (KG_REQUIRE_BROWSER=1) but cannot run: {reason}", pytrace=False)
    pytest.skip(f"headless Chromium unavailable: {reason}")


def _chromium_paths() -> tuple[str, str]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    chromedriver = shutil.which("chromedriver")
    if chromium is None or chromedriver is None:
        _browser_unavailable("`chromium` and `chromedriver` not on PATH (apt-get install chromium chromium-driver)")
    try:
        import selenium  # noqa: F401
    except ImportError:
        _browser_unavailable("selenium is not installed (pip install -e '.[dev]')")
    return chromium, chromedriver


def readme_cypher(comment: str) -> str:
    """The README's ready-to-paste statement that follows `comment`, without its comment line."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```cypher\n(.*?)```", readme, flags=re.DOTALL)
    for statement in (s.strip() for block in blocks for s in re.split(r"\n\s*\n", block)):
        lines = statement.splitlines()
        if lines and lines[0].startswith(comment):
            return "\n".join(line for line in lines if not line.lstrip().startswith("//"))
    raise AssertionError(f"README.md has no ```cypher statement after {comment!r}")


@pytest.fixture(scope="module")
def browser_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalNeo4j]:
    _chromium_paths()  # skip before paying for a JVM start
    server = LocalNeo4j(
        home=Settings().home,  # KG_HOME or ~/.kg: reuse the cached launcher build
        data_dir=tmp_path_factory.mktemp("browser-neo4j"),
        bolt_port=find_free_port(),
        http_port=find_free_port(),
        password=PASSWORD,
        heap="512m",
        pagecache="128m",
    )
    try:
        server.start(timeout=START_TIMEOUT_S)
    except LocalNeo4jError as error:
        if os.environ.get("KG_REQUIRE_NEO4J") == "1":
            pytest.fail(f"{error}\n{error.details or ''}", pytrace=False)
        pytest.skip(f"Neo4j unavailable: {error}")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def chromium(tmp_path: Path) -> Iterator[Any]:
    binary, driver_path = _chromium_paths()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = binary
    # Root in a container needs --no-sandbox; the network flags stop Chromium calling home on a
    # machine whose outside network is closed; a fresh profile keeps no saved Browser state.
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1600,1000",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):
        options.add_argument(flag)
    try:
        driver = webdriver.Chrome(service=Service(driver_path), options=options)
    except Exception as error:  # selenium raises several kinds when the browser cannot start
        _browser_unavailable(f"Chromium did not start: {error}")
    try:
        yield driver
    finally:
        driver.quit()


def _artifacts_dir() -> Path:
    root = Path(os.environ.get("KG_ARTIFACTS") or REPO / "tests" / "artifacts")
    directory = root / "screenshots"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def _wait_until_layout_settles(frame: Any, timeout: float = 10.0) -> None:
    """The force layout moves nodes for a while after rendering; wait until they stop (or give up)."""
    from selenium.webdriver.common.by import By

    deadline = time.monotonic() + timeout
    previous: list[str | None] = []
    while time.monotonic() < deadline:
        positions = [node.get_attribute("transform") for node in frame.find_elements(By.CSS_SELECTOR, "svg g.node")]
        if positions and positions == previous:
            return
        previous = positions
        time.sleep(0.5)


def test_browser_runs_the_readme_query_and_renders_what_comes_before_grpo(
    browser_server: LocalNeo4j, chromium: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    query = readme_cypher(README_QUERY_COMMENT)
    with GraphDatabase.driver(browser_server.bolt_uri, auth=("neo4j", PASSWORD)) as driver:
        ingest_vault(driver, sample_vault_dir(), database="neo4j", vault_name="sample")
        records, _, _ = driver.execute_query(query, database_="neo4j")
    expected = {node["name"] for record in records for node in record["p"].nodes}
    assert "GRPO" in expected and "PPO" in expected  # the data the screenshot is about

    assert browser_server.browser_url is not None
    params = {
        "dbms": f"bolt://neo4j@127.0.0.1:{browser_server.bolt_port}",
        "db": "neo4j",
        "preselectAuthMethod": "NATIVE",
        "cmd": "edit",
        "arg": query,
    }
    chromium.get(browser_server.browser_url + "?" + urllib.parse.urlencode(params, quote_via=urllib.parse.quote))
    wait = WebDriverWait(chromium, UI_TIMEOUT_S)

    # The connect form comes pre-filled from the URL; only the password is typed.
    password = wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, '[data-testid="password"]')))
    assert chromium.find_element(By.CSS_SELECTOR, '[data-testid="boltaddress"]').get_attribute("value") == (
        f"127.0.0.1:{browser_server.bolt_port}"
    )
    assert chromium.find_element(By.CSS_SELECTOR, '[data-testid="username"]').get_attribute("value") == "neo4j"
    password.send_keys(PASSWORD)
    chromium.find_element(By.CSS_SELECTOR, '[data-testid="connect"]').click()
    wait.until(ec.invisibility_of_element_located((By.CSS_SELECTOR, '[data-testid="password"]')))

    # cmd=edit put the query in the editor; run it as a user would.
    editor = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, '[data-testid="activeEditor"]')))
    assert "PREREQUISITE_OF*1..3" in editor.text
    chromium.find_element(By.CSS_SELECTOR, '[data-testid="editor-Run"]').click()

    def result_frame(browser: Any) -> Any:
        for frame in browser.find_elements(By.CSS_SELECTOR, '[data-testid="frame"]'):
            command = frame.find_elements(By.CSS_SELECTOR, '[data-testid="frameCommand"]')
            if (
                command
                and "PREREQUISITE_OF*1..3" in command[0].text
                and frame.find_elements(By.CSS_SELECTOR, "svg g.node text.caption")
            ):
                return frame
        return False

    frame = wait.until(result_frame)
    _wait_until_layout_settles(frame)

    # The graph drawn is the query's answer: one node per concept, captioned with its name
    # (Browser wraps long names over lines and cuts them with an ellipsis).
    captions = [
        " ".join(text.text.strip() for text in node.find_elements(By.CSS_SELECTOR, "text.caption"))
        for node in frame.find_elements(By.CSS_SELECTOR, "svg g.node")
    ]
    assert len(captions) == len(expected), captions
    for caption in captions:
        assert caption in expected or (
            caption.endswith("…") and any(name.startswith(caption[:-1].strip()) for name in expected)
        ), (caption, sorted(expected))
    assert {"GRPO", "PPO"} <= set(captions)
    concept_count = frame.find_element(By.CSS_SELECTOR, '[data-testid="property-details-overview-node-label-Concept"]')
    assert concept_count.text == f"Concept ({len(expected)})"

    screenshot = _artifacts_dir() / SCREENSHOT_NAME
    assert frame.screenshot(str(screenshot))
    assert screenshot.stat().st_size > 10_000  # a real picture, not an empty frame
    with capsys.disabled():
        print(f"\nNeo4j Browser screenshot: {screenshot}")

"""The HTML report in a real headless chromium: it loads cleanly, every figure decodes, no report text runs as markup.

The browser is driven over the Chrome DevTools Protocol on --remote-debugging-pipe (NUL-terminated JSON; the
browser reads fd 3 and writes fd 4) with the standard library only. Every wait has a timeout, so a hung browser
fails a test within TIMEOUT_S seconds instead of hanging CI.
"""
from __future__ import annotations

import dataclasses
import json
import os
import select
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import pytest

from elb.config import Params
from elb.report.render import write_report
from conftest import ROOT
from test_report import _judgement, grid_of  # the synthetic judgement test_report renders: one claim, two figures

HOSTILE = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned=2">'
TIMEOUT_S = 15.0  # one wait (start-up, one command, one page load); after a timeout every command fails at once
NO_CHROMIUM = "no chromium: `make test` installs Debian's chromium when run as root"


class Cdp:
    """A minimal CDP client over a pipe pair; events that arrive while waiting are kept in `events`."""

    def __init__(self, write_fd: int, read_fd: int, log: Path) -> None:
        self.write_fd, self.read_fd, self.log = write_fd, read_fd, log
        self.events: list[dict[str, Any]] = []
        self._buffer = b""
        self._last_id = 0
        self._broken = ""  # set by a timeout: later commands fail at once instead of waiting again

    def send(self, method: str, params: dict[str, Any] | None = None, session_id: str | None = None) -> dict[str, Any]:
        """Send one command and return its result once the reply with the same id arrives; raise on a CDP error."""
        if self._broken:
            raise RuntimeError(f"{method}: {self._broken}")
        self._last_id += 1
        message: dict[str, Any] = {"id": self._last_id, "method": method, "params": params or {}}
        if session_id:
            message["sessionId"] = session_id
        os.write(self.write_fd, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + TIMEOUT_S
        while (reply := self._receive(deadline, method)).get("id") != self._last_id:
            self.events.append(reply)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply["result"]

    def wait_for(self, event: str, session_id: str) -> dict[str, Any]:
        """The first `event` of that session, already collected or still to come."""
        deadline = time.monotonic() + TIMEOUT_S
        while not (found := [e for e in self.events if e.get("method") == event and e.get("sessionId") == session_id]):
            self.events.append(self._receive(deadline, event))
        return found[0]

    def _receive(self, deadline: float, waiting_for: str) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.read_fd], [], [], left)[0]:
                self._fail(f"chromium sent nothing for {waiting_for} in {TIMEOUT_S:.0f} s")
            if not (chunk := os.read(self.read_fd, 1 << 16)):
                self._fail("chromium closed the DevTools pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def _fail(self, reason: str) -> NoReturn:
        self._broken = reason
        raise RuntimeError(f"{reason}; its stderr ends:\n{self.log.read_text(errors='replace')[-2000:]}")


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cdp]:
    """Headless chromium in its own process group with a throwaway profile; the whole group is killed after."""
    binary = next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)
    if binary is None:
        pytest.skip(NO_CHROMIUM)
    home = tmp_path_factory.mktemp("chromium")
    to_browser_r, to_browser_w = os.pipe()
    from_browser_r, from_browser_w = os.pipe()
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe",
             f"--user-data-dir={home / 'profile'}", "--no-first-run", "about:blank"]
    # pass_fds keeps both pipe ends open in the child; bash (not dash: fds above 9) moves them to fds 3 and 4
    with open(home / "stderr.log", "wb") as log:
        process = subprocess.Popen(
            ["bash", "-c", f'exec "$0" "$@" 3<&{to_browser_r} 4>&{from_browser_w}', binary, *flags],
            pass_fds=(to_browser_r, from_browser_w), stdin=subprocess.DEVNULL, stdout=log, stderr=log,
            start_new_session=True)
    os.close(to_browser_r)
    os.close(from_browser_w)
    try:
        yield Cdp(to_browser_w, from_browser_r, home / "stderr.log")
    finally:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(timeout=TIMEOUT_S)
        os.close(to_browser_w)
        os.close(from_browser_r)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """claims.html for test_report's judgement, with HOSTILE in a claim statement, a measurement's inputs, an
    evidence row's detail and the dataset folder: all four are shown as text."""
    judgement = _judgement()
    claim = judgement.claims[0].model_copy(update={"statement": HOSTILE})
    verdict = dataclasses.replace(judgement.verdicts[0], measured={**judgement.verdicts[0].measured, "inputs": HOSTILE})
    evidence = [{"claim_id": claim.id, "status": "DISCREPANT", "model": "m", "quantity": "q", "published": 1,
                 "recomputed": 2, "detail": HOSTILE, "study": "ELB", "source": "f"}]
    folder = tmp_path_factory.mktemp("report")
    write_report(folder, grid_of(dataclasses.replace(judgement, claims=[claim], verdicts=[verdict])), evidence,
                 {"data_dir": HOSTILE, "length_confound": {}}, Params())
    return folder / "claims.html"


@pytest.fixture()
def page(browser: Cdp, report: Path) -> Iterator[str]:
    """A fresh tab with the report loaded; yields its CDP session id."""
    with opened(browser, report) as session:
        yield session


@contextmanager
def opened(browser: Cdp, html: Path) -> Iterator[str]:
    """A fresh tab with `html` loaded (Runtime, Log and Page enabled first); yields its CDP session id."""
    target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    try:
        for domain in ("Runtime", "Log", "Page"):
            browser.send(f"{domain}.enable", session_id=session)
        browser.send("Page.navigate", {"url": html.as_uri()}, session)
        browser.wait_for("Page.loadEventFired", session)
        yield session
    finally:
        browser.send("Target.closeTarget", {"targetId": target})


def evaluate(browser: Cdp, session: str, expression: str) -> Any:
    """The JSON value of `expression` in the page; a JavaScript exception fails the test."""
    reply = browser.send("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session)
    assert "exceptionDetails" not in reply, reply["exceptionDetails"]
    return reply["result"].get("value")


def page_errors(browser: Cdp, session: str) -> list[dict[str, Any]]:
    """console.error calls, uncaught exceptions and error log entries (failed loads included) of that page."""
    def is_error(event: dict[str, Any]) -> bool:
        method, params = event.get("method"), event.get("params", {})
        return (method == "Runtime.exceptionThrown"
                or (method == "Runtime.consoleAPICalled" and params["type"] == "error")
                or (method == "Log.entryAdded" and params["entry"]["level"] == "error"))
    return [e for e in browser.events if e.get("sessionId") == session and is_error(e)]


def test_report_loads_without_console_errors_or_exceptions(browser: Cdp, page: str):
    assert evaluate(browser, page, "document.readyState") == "complete"
    assert evaluate(browser, page, "document.title").startswith("ELB claims report")
    assert page_errors(browser, page) == []  # the evaluate round trips above flushed any events of the load


def test_report_every_image_decodes_and_has_alt_text(browser: Cdp, page: str):
    images = evaluate(browser, page, "Array.from(document.images, img => ({src: img.src.slice(0, 60), "
                                     "decoded: img.complete && img.naturalWidth > 0, alt: img.alt.trim()}))")
    assert len(images) == 2, images  # test_report's judgement draws the layer curve and the null histogram
    assert [img for img in images if not img["decoded"]] == [], "images that did not decode"
    assert [img for img in images if not img["alt"]] == [], "images without alt text"


def test_report_text_never_runs_as_markup(browser: Cdp, page: str):
    assert evaluate(browser, page, "typeof window.__pwned") == "undefined"
    assert evaluate(browser, page, "document.scripts.length") == 0  # the report has no script of its own
    assert "<script>" in evaluate(browser, page, "document.body.innerText")  # statement and dataset folder
    assert evaluate(browser, page, "document.body.textContent").count(HOSTILE) >= 4  # plus the closed <details>
    assert page_errors(browser, page) == []  # an <img src=x> that became markup would log a failed load


def test_the_committed_report_loads_cleanly_and_every_figure_decodes(browser: Cdp):
    """The report `dvc repro` wrote for this commit, as a reader opens it."""
    committed = ROOT / "reports" / "claims.html"
    if not committed.exists():
        pytest.skip("no committed reports/claims.html (the last `dvc repro` did not complete)")
    with opened(browser, committed) as session:
        images = evaluate(browser, session, "Array.from(document.images, img => img.complete && img.naturalWidth > 0"
                                            " && img.alt.trim().length > 0)")
        assert len(images) >= 5 and all(images), images
        assert evaluate(browser, session, "document.querySelectorAll('table.matrix tbody tr').length") > 50
        assert evaluate(browser, session, "document.scripts.length") == 0
        assert page_errors(browser, session) == []

"""The Insights page in a real headless browser (Chromium driven by Playwright).

The server runs in a thread on a free 127.0.0.1 port; the browser loads the page, picks the
model, translates, clicks an attention type, layer and head, and the heatmap's cells must be
the API's matrix. A screenshot is saved to artefacts/insights_page.png (git-ignored). Needs
the `playwright` package and a Chromium: the distribution's (`apt-get install chromium`),
else one that `playwright install chromium` downloaded.
"""

import json
import os
import shutil
import socket
import threading
import time
import urllib.parse
import urllib.request

import numpy as np
import pytest

ARTEFACTS = os.path.join(os.path.dirname(__file__), "..", "..", "artefacts")


def chromium_or_skip() -> str | None:
    """The distribution's chromium; None for Playwright's own; skips when there is neither."""
    pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path:
        return path
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        if os.path.exists(p.chromium.executable_path):
            return None
    pytest.skip("no Chromium: apt-get install chromium (or: playwright install chromium)")


@pytest.fixture(scope="module")
def server(app):
    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.time() + 60
    while not instance.started:
        assert time.time() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    instance.should_exit = True
    thread.join(timeout=10)


def api_result(url: str, params: dict) -> dict:
    """The visualizations of /debug by name."""
    with urllib.request.urlopen(f"{url}/debug?{urllib.parse.urlencode(params)}") as answer:
        return {v["visualization_name"]: v for v in json.load(answer)["result"]}


def test_translate_and_click_a_head(server):
    executable = chromium_or_skip()
    from playwright.sync_api import sync_playwright

    params = {"source": "alpha beta gamma", "id": "tiny_reverse", "beam_size": "3", "alpha": "0.6"}
    api = api_result(server, params)
    beams, attention = api["beams"]["beams"], api["attention"]["attention"]

    outside, errors = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, headless=True)
        page = browser.new_page(viewport={"width": 1200, "height": 1400})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))

        def only_this_server(route):
            if route.request.url.startswith(server):
                route.continue_()
            else:  # the page must not need the network
                outside.append(route.request.url)
                route.abort()

        page.route("**/*", only_this_server)
        page.goto(server + "/")
        page.wait_for_selector("#model option[value='tiny_reverse']", state="attached")
        page.select_option("#model", "tiny_reverse")
        page.fill("#source", "alpha beta gamma")
        page.fill("#beam-size", "3")
        page.click("#translate")
        page.wait_for_selector("#results:not([hidden])", timeout=120_000)

        assert page.inner_text("#translation") == beams[0]["text"]
        assert page.locator("#beams .beam-text").all_inner_texts() == [b["text"] for b in beams]
        scores = page.locator("#beams .beam-score").all_inner_texts()
        assert scores == [f"{b['score']:.3f}" for b in beams]
        edges = len(api["graph"]["search_graph"]["edge"])
        assert page.locator("#graph li.graph-edge").count() == edges
        inputs = page.locator("#input-pieces .piece").all_inner_texts()
        outputs = page.locator("#output-pieces .piece").all_inner_texts()
        assert inputs == attention["input_pieces"] and outputs == attention["output_pieces"]
        assert inputs[:3] == ["alpha_", "beta_", "gamma_"]

        page.click("button.kind[data-kind='encoder_decoder']")
        page.click("button.layer[data-layer='1']")
        page.click("button.head[data-head='1']")
        heatmap = page.locator("#heatmap")
        assert heatmap.get_attribute("data-kind") == "encoder_decoder"
        assert (heatmap.get_attribute("data-layer"), heatmap.get_attribute("data-head")) == (
            "1", "1",
        )  # fmt: skip
        assert page.locator("button.head.selected").inner_text() == "1"
        cells = page.locator("#heatmap td.cell")
        assert cells.count() == len(outputs) * len(inputs)
        shown = np.zeros((len(outputs), len(inputs)))
        for cell in cells.evaluate_all(
            "cells => cells.map(c => [+c.dataset.row, +c.dataset.col, +c.dataset.value])"
        ):
            shown[int(cell[0]), int(cell[1])] = cell[2]
        os.makedirs(ARTEFACTS, exist_ok=True)
        page.screenshot(path=os.path.join(ARTEFACTS, "insights_page.png"), full_page=True)

        page.click("button.kind[data-kind='decoder_self']")  # same layer and head, new type
        assert cells.count() == len(outputs) ** 2
        browser.close()

    expected = np.array(attention["encoder_decoder"][1][1])
    np.testing.assert_allclose(shown, expected, atol=1e-6)
    np.testing.assert_allclose(shown.sum(-1), 1.0, atol=1e-4)
    assert not outside and not errors, (outside, errors)

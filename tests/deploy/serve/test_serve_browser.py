"""The page in a real headless Chromium, as a person uses it.

Needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them) and the
``selenium`` package of the test extra; skips with the reason otherwise. The screenshots
land in the test's temporary folder, or in ``$EMOLENS_SCREENSHOTS`` when set.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

pytestmark = pytest.mark.slow

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--window-size=1400,1750",
         # a synthetic microphone (a beeping tone) that needs no permission prompt
         "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]


def _chromium() -> tuple[str, str]:
    browser = next((shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome")
                    if shutil.which(b)), None)
    driver = shutil.which("chromedriver")
    if browser is None or driver is None:
        pytest.skip("no Chromium found (needs the chromium and chromium-driver system packages, "
                    "e.g. apt-get install chromium chromium-driver)")
    pytest.importorskip("selenium", reason="the browser test needs selenium (test extra)")
    return browser, driver


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    binary, driver = _chromium()
    opts = Options()
    opts.binary_location = binary
    for flag in FLAGS:
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    d = webdriver.Chrome(service=Service(executable_path=driver), options=opts)
    d.set_page_load_timeout(60)
    yield d
    d.quit()


def _serve(predictor):
    """The app on a free loopback port, in a thread; returns (url, stop)."""
    import uvicorn

    from emolens.deploy.serve.app import create_app

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(predictor, warm_up=True),
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    t0 = time.time()
    while not server.started:
        if time.time() - t0 > 120 or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)

    def stop():
        server.should_exit = True
        thread.join(10)
        sock.close()

    return f"http://127.0.0.1:{port}/", stop


def _shot(driver, tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    driver.save_screenshot(str(path))
    if os.environ.get("EMOLENS_SCREENSHOTS"):
        out = Path(os.environ["EMOLENS_SCREENSHOTS"])
        out.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, out / name)
    assert path.stat().st_size > 10_000
    return path


def _use_the_page(driver, url, files, bad, long_name, tmp_path, shot):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def find(css):
        return driver.find_elements(By.CSS_SELECTOR, css)

    wait = WebDriverWait(driver, 120)
    driver.get(url)
    wait.until(lambda d: "Model:" in d.find_element(By.ID, "model-line").text)
    driver.find_element(By.ID, "file-input").send_keys("\n".join(str(f) for f in files + bad))
    n_good = len(files)
    wait.until(lambda d: len(find("#map .pt")) == n_good)
    # the bad file is listed with its reason; the others are answered
    wait.until(lambda d: "skipped:" in d.find_element(By.ID, "files").text)
    assert "not an audio file" in driver.find_element(By.ID, "files").text
    assert f"{n_good} file(s) predicted, {len(bad)} skipped" in driver.find_element(By.ID, "status").text
    assert "per-speaker z-scoring" in driver.find_element(By.ID, "norm-note").text
    # click the long recording's point: probabilities, attribution bars, timeline
    driver.find_element(By.CSS_SELECTOR, f'#map .pt[data-file="{long_name}"] .mark').click()
    wait.until(lambda d: d.find_element(By.ID, "d-title").text == long_name)
    wait.until(lambda d: len(find("#probs .bar")) == 4 and len(find("#attr .abar")) == 10)
    shares = [float(b.text.split()[-2]) for b in find("#probs .bar")]
    assert abs(sum(shares) - 100) <= 3, shares
    assert driver.find_element(By.ID, "timeline-box").is_displayed()
    assert len(find("#timeline rect")) >= 4
    assert "latent units from the" in driver.find_element(By.ID, "attr-note").text
    assert driver.find_element(By.ID, "ood").text
    # the downloads: same columns as `emolens predict`, and a one-page summary
    csv = driver.execute_script("return csvText()")
    assert csv.splitlines()[0] == "file,label,p_neutral,p_happy,p_sad,p_angry,z1,z2,ood_score,ood"
    assert len(csv.splitlines()) == 1 + n_good
    summary = driver.execute_script("return summaryHtml()")
    assert "<svg" in summary and long_name in summary and "Normalisation" in summary
    # one point per recording: every file is in the list with a result
    assert len(find("#files li")) == n_good + len(bad)
    path = _shot(driver, tmp_path, shot)
    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors
    return path


def _long_clip(files, path: Path, seconds: float = 8.0) -> Path:
    parts, total = [], 0.0
    while total < seconds:
        for f in files:
            x, sr = sf.read(f, dtype="float32")
            parts += [x, np.zeros(sr // 4, np.float32)]
            total += len(x) / sr + 0.25
    sf.write(path, np.concatenate(parts), sr)
    return path


def test_page_with_synthetic_speech(browser, bundle, synth, tmp_path):
    from emolens.deploy.predict import Predictor

    m = synth["manifest"]
    spk = m[m["corpus"] == synth["names"][0]]["speaker"].iloc[0]
    files = list(m[m["speaker"] == spk]["file"])[:7]
    long = _long_clip(files[:4], tmp_path / "long talk.wav")
    bad = tmp_path / "notes.wav"
    bad.write_bytes(b"%PDF-1.4 this is not audio")
    url, stop = _serve(Predictor(bundle))
    try:
        _use_the_page(browser, url, files + [long], [bad], "long talk.wav", tmp_path,
                      "serve-synthetic.png")
        # regions of this bundle are drawn behind the points
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait

        assert len(browser.find_elements(By.CSS_SELECTOR, "#map ellipse")) == 2 * len(bundle.labels)
        # record from the (fake) microphone: the take is converted to WAV and analysed
        n = len(browser.find_elements(By.CSS_SELECTOR, "#map .pt"))
        browser.find_element(By.ID, "record").click()
        WebDriverWait(browser, 30).until(lambda d: "Stop" in d.find_element(By.ID, "record").text)
        time.sleep(2.5)
        browser.find_element(By.ID, "record").click()
        WebDriverWait(browser, 120).until(lambda d: "recording 1.wav" in d.find_element(By.ID, "files").text)
        WebDriverWait(browser, 120).until(
            lambda d: len(d.find_elements(By.CSS_SELECTOR, "#map .pt")) == n + 1
            or "skipped:" in d.find_element(By.ID, "files").text.split("recording 1.wav")[-1])
        assert 'data-file="recording 1.wav"' in browser.page_source, browser.find_element(By.ID, "files").text
        # over the server's size limit: the page says so before uploading anything
        browser.execute_script("state.model.limits.max_upload_mb = 0.01")
        browser.find_element(By.ID, "file-input").send_keys(str(long))
        WebDriverWait(browser, 30).until(
            lambda d: "this server accepts 0.01 MB" in d.find_element(By.ID, "status").text)
        assert "--max-upload-mb" in browser.find_element(By.ID, "status").text
    finally:
        stop()


@pytest.mark.corpora
def test_page_with_emodb_and_the_default_model(browser, shared_corpora, tmp_path):
    """EmoDB recordings of one speaker through the shipped model."""
    from selenium.webdriver.common.by import By

    from emolens.deploy.predict import Predictor

    emodb = shared_corpora / "emodb"
    files = sorted(p for p in emodb.rglob("03*") if p.suffix in (".wav", ".flac"))[:6]
    if len(files) < 6:
        pytest.skip(f"no EmoDB speaker 03 files below {emodb}")
    long = _long_clip(files[:3], tmp_path / "emodb 03 joined.wav")
    bad = tmp_path / "image.wav"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    pred = Predictor()
    url, stop = _serve(pred)
    try:
        _use_the_page(browser, url, files + [long], [bad], "emodb 03 joined.wav", tmp_path,
                      "serve-emodb.png")
        note = browser.find_element(By.ID, "map-note").text
        if "latent_regions" in pred.bundle.info:
            assert len(browser.find_elements(By.CSS_SELECTOR, "#map ellipse")) > 0
        else:  # a model built before regions existed says so
            assert "Emotion regions unavailable" in note
    finally:
        stop()

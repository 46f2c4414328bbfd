"""`linen prover` run apart: its controller is an actor, it serves /health and /metrics, proves what
appears in its folders, and stops on SIGTERM."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from tests.helpers import LINEN, ROOT

FAKE_PROVER = "import sys\nopen(sys.argv[1], 'w').write('{}')\n"  # a prover that always succeeds


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as reply:
        return reply.read()


def test_the_standalone_controller_reports_health_and_metrics_and_stops_on_sigterm(tmp_path):
    root = tmp_path / "prover"
    fake = tmp_path / "fake_prover.py"
    fake.write_text(FAKE_PROVER)
    config = tmp_path / "prover.toml"
    config.write_text(f'[prover]\nrequests-root = "{root}"\nlocal-id = "prover-apart"\n'
                      f'command = "python3 {fake} {{output}}"\nretry-delays = "0.1"\n')
    log_path = tmp_path / "prover.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(LINEN + ["prover", "--config", str(config)], stdout=log, stderr=subprocess.STDOUT,
                                cwd=ROOT)
    try:
        deadline = time.time() + 30
        url = None
        while url is None and time.time() < deadline:
            found = re.search(r"/health and /metrics at (http://\S+)", log_path.read_text())
            url = found.group(1) if found else None
            time.sleep(0.1)
        assert url, log_path.read_text()
        requests = root / "prover-execution" / "requests"
        (requests / "1-2-getZkProof.json").write_text("{}")
        response = root / "prover-execution" / "responses" / "1-2-getZkProof.json"
        while not response.exists() and time.time() < deadline + 30:
            time.sleep(0.1)
        assert response.exists(), log_path.read_text()

        health = json.loads(get(url + "/health"))
        report = health["actors"]["prover.controller.prover-apart"]
        assert health["status"] == "ok" and report["status"] == "ok" and report["ticks"] >= 1
        samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
                   for f in text_string_to_metric_families(get(url + "/metrics").decode()) for s in f.samples}
        assert samples[("linen_proof_requests_total", (("kind", "execution"), ("outcome", "success")))] == 1
        assert samples[("linen_prove_seconds_count", (("kind", "execution"),))] == 1

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()

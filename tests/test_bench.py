"""bench/throughput.py on the tiny model: it measures every batch size on the same questions
and shows that batching changes no answer."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_throughput_bench_measures_each_batch_size_and_batches_agree(tiny_model_dir, tmp_path):
    out = tmp_path / "throughput.json"
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "throughput.py"), "--questions", "4",
                           "--batch-sizes", "1", "4", "--model", str(tiny_model_dir), "--adapter", "none",
                           "--precision", "fp32", "--force", "--out", str(out)],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(out.read_text())
    assert [r["batch_size"] for r in report["rows"]] == [1, 4]
    assert all(r["questions"] == 4 and r["questions_per_s"] > 0 for r in report["rows"])
    assert report["rows"][1]["same_as_first"] == 4
    assert "| 4 | 4 |" in proc.stdout and "(forced)" in proc.stdout


def test_benches_refuse_a_busy_machine_unless_forced():
    import os

    if os.getloadavg()[0] <= 0.5:
        pytest.skip("the machine is idle; the refusal needs load")
    for script in ("throughput.py", "latency.py"):
        proc = subprocess.run([sys.executable, str(ROOT / "bench" / script)], capture_output=True, text=True, timeout=60)
        assert proc.returncode == 2 and "the machine is busy" in proc.stderr


@pytest.mark.slow
def test_latency_bench_measures_with_and_without_the_prefix_cache_and_they_agree(tiny_model_dir, tmp_path):
    """Also with the restricted output vocabulary, which reads fewer bytes of weights per
    step (its answers are compared in tests/model/test_output_vocab.py: the tiny model's
    answers to these untrained questions are noise that any change of head reshuffles)."""
    out = tmp_path / "latency.json"
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "latency.py"), "--precision", "fp32",
                           "--restricted-vocabulary", "fp32", "--model", str(tiny_model_dir), "--adapter", "none",
                           "--llama-gguf", "--force", "--out", str(out)], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(out.read_text())
    cached, uncached, restricted = report["results"]
    assert cached["used"] == "fp32" and uncached["used"] == "fp32, no schema prefix cache"
    assert restricted["used"] == "fp32, restricted vocabulary" and 1000 < restricted["head_rows"] < 50_000
    for r in (cached, uncached, restricted):
        assert len(r["requests"]) == 20 and r["single"]["total_p50"] > 0 and r["weight_bytes"] > 0
        assert 0 < r["of_bandwidth_limit"] and r["bandwidth_limit_tok_s"] > 0
    assert [q["sql"] for q in cached["requests"]] == [q["sql"] for q in uncached["requests"]]
    assert restricted["weight_bytes"] < cached["weight_bytes"] / 2  # the 262k-row head dominates the tiny model
    assert report["machine"]["read_bandwidth_gb_s"] > 0
    assert "| transformers fp32 (fp32) |" in proc.stdout and "(forced)" in proc.stdout


@pytest.mark.slow
def test_precision_bench_pairs_each_configuration_with_fp32_and_reuses_finished_runs(tiny_model_dir, tmp_path):
    out, reports = tmp_path / "precision.json", tmp_path / "reports"
    cmd = [sys.executable, str(ROOT / "bench" / "precision.py"), "--limit", "3", "--configs", "fp32", "fp32+rv",
           "--model", str(tiny_model_dir), "--adapter", "none", "--reports", str(reports), "--out", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(out.read_text())
    fp32, rv = result["rows"]
    assert fp32["config"] == "fp32" and fp32["same_sql_as_reference"] == 3 and fp32["ex_change_points"] == 0
    assert rv["questions"] == 3 and rv["data"].endswith("restricted vocabulary, fp32")
    assert rv["ex_change_points"] == round(100 * (rv["gained"] - rv["lost"]) / 3, 1)
    stamp = (reports / "fp32" / "report.json").stat().st_mtime
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert again.returncode == 0 and (reports / "fp32" / "report.json").stat().st_mtime == stamp  # reused
    assert "| fp32+rv | 3 |" in again.stdout
    assert result["machine"]["cpu"] and isinstance(result["machine"]["native_bf16"], bool)
    paired = subprocess.run(cmd + ["--reference", "fp32+rv"], capture_output=True, text=True, timeout=900)
    assert paired.returncode == 0, paired.stderr[-3000:]  # what the restricted vocabulary alone changes
    rows = {r["config"]: r for r in json.loads(out.read_text())["rows"]}
    assert rows["fp32+rv"]["same_sql_as_reference"] == 3 and rows["fp32"]["gained"] == rv["lost"]
    assert "change vs fp32+rv" in paired.stdout
    wrong = subprocess.run(cmd + ["--reference", "bf16"], capture_output=True, text=True, timeout=300)
    assert wrong.returncode != 0 and "bf16 is the reference: keep it in --configs" in wrong.stderr
    given = subprocess.run([sys.executable, str(ROOT / "bench" / "precision.py"), "--reference", "old", "--from",
                            f"old={reports / 'fp32' / 'report.json'}", f"new={reports / 'fp32+rv' / 'report.json'}",
                            "--out", str(tmp_path / "given.json")], capture_output=True, text=True, timeout=300)
    assert given.returncode == 0, given.stderr[-3000:]  # committed reports paired without running anything
    old, new = json.loads((tmp_path / "given.json").read_text())["rows"]
    assert (old["config"], new["config"]) == ("old", "new") and new["gained"] == rv["gained"] and new["lost"] == rv["lost"]
    bad = subprocess.run([sys.executable, str(ROOT / "bench" / "precision.py"), "--reference", "old", "--from",
                          f"old={tmp_path}"], capture_output=True, text=True, timeout=300)
    assert bad.returncode != 0 and "not a text2sql eval report.json" in bad.stderr


def test_decode_rate_counts_from_the_first_streamed_token_to_the_last():
    """What happens before the first token (prefill) and after the last one (extracting and
    checking the SQL) is in the time to first token and the total, not in decode tokens/s:
    the same rule for text2sql and llama.cpp."""
    sys.path.insert(0, str(ROOT / "bench"))
    from latency import request_row

    row = request_row("single", "q", start=10.0, total=1.0, arrivals=[10.2, 10.3, 10.4, 10.6], tokens=5,
                      valid=True, sql="SELECT 1")
    assert row["ttft_s"] == pytest.approx(0.2) and row["total_s"] == 1.0
    assert row["decode_tok_s"] == pytest.approx(4 / 0.4)
    assert request_row("single", "q", 0.0, 1.0, [0.5], 1, False, None)["decode_tok_s"] is None
    assert request_row("single", "q", 0.0, 1.0, [], 0, False, None)["ttft_s"] == 1.0


def test_selection_bench_scores_each_rule_by_running_every_candidate(tmp_path):
    """On a real Spider database: greedy fails to run, the first candidate that ran counts the
    wrong table, most candidates agree on the right count; in the second question the first
    that ran returns nothing and the next returns the right rows."""
    def outcome(gold, *candidates):
        return {"db_id": "concert_singer", "question": gold, "gold": gold,
                "candidates": [{"sql": sql, "ok": ok} for sql, ok in candidates]}

    report = {"summary": {"evaluated": 2, "data": "hand-made", "n_candidates": 4}, "outcomes": [
        outcome("SELECT count(*) FROM singer", ("SELECT count(*) FROM nowhere", False),
                ("SELECT count(*) FROM stadium", True), ("SELECT count(*) FROM singer", True),
                ("SELECT count(singer_id) FROM singer", True)),
        outcome("SELECT name FROM singer WHERE country = 'France'",
                ("SELECT name FROM singer WHERE country = 'france'", True),
                ("SELECT name FROM singer WHERE country = 'France'", True)),
    ]}
    path, out = tmp_path / "report.json", tmp_path / "selection.json"
    path.write_text(json.dumps(report))
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "selection.py"), str(path), "--out", str(out),
                           "--databases", str(ROOT.parent / "shared" / "data" / "spider" / "database")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(out.read_text())["rows"]
    assert [(r["subset"], r["questions"]) for r in result if r["k"] == 1] == [("all", 2), ("half 1", 2), ("half 2", 0)]
    rows = {r["k"]: r for r in result if r["subset"] == "all"}
    assert sorted(rows) == [1, 2, 4]
    assert rows[1] == {"subset": "all", "questions": 2, "k": 1, "greedy": 0.0, "first-ok": 0.0, "first-rows": 0.0,
                       "vote": 0.0, "vote-rows": 0.0, "first-answer": 0.0, "oracle": 0.0}
    assert (rows[4]["greedy"], rows[4]["first-ok"], rows[4]["first-rows"], rows[4]["first-answer"]) == (0, 0, 50, 50)
    assert (rows[4]["vote"], rows[4]["oracle"]) == (50.0, 100.0)
    assert "| all (2) | 4 | 0.0 | 0.0 | 50.0 | 50.0 |" in proc.stdout
    missing = subprocess.run([sys.executable, str(ROOT / "bench" / "selection.py"),
                              str(ROOT / "bench" / "results" / "eval" / "adapter-spider-dev-w8a16rv.json")],
                             capture_output=True, text=True, timeout=300)
    assert missing.returncode != 0 and "evaluate with text2sql eval --n N" in missing.stderr

"""numpy's huge-page advice off while the engine works (geoagri._engine.pages)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from geoagri._engine.pages import small_pages

advice = np._core.multiarray._get_madvise_hugepage
set_advice = np._core.multiarray._set_madvise_hugepage


@pytest.fixture(autouse=True)
def _no_user_choice(monkeypatch):
    monkeypatch.delenv("NUMPY_MADVISE_HUGEPAGE", raising=False)
    before = set_advice(True)
    yield
    set_advice(before)


def test_off_inside_restored_after_even_when_the_analysis_fails():
    with pytest.raises(ValueError), small_pages():
        assert advice() is False
        raise ValueError("an analysis that fails")
    assert advice() is True


def test_a_process_that_had_turned_it_off_keeps_it_off():
    set_advice(False)
    with small_pages():
        pass
    assert advice() is False


def test_nested_and_concurrent_analyses_restore_it_when_the_last_ends():
    entered, release = threading.Event(), threading.Event()

    def other_analysis():
        with small_pages():
            entered.set()
            release.wait(10)

    worker = threading.Thread(target=other_analysis)
    with small_pages():
        worker.start()
        assert entered.wait(10)
        with small_pages():
            assert advice() is False
        assert advice() is False
    assert advice() is False  # the other thread's analysis still runs
    release.set()
    worker.join(10)
    assert advice() is True


def test_the_users_own_setting_in_the_environment_is_left_alone(monkeypatch):
    monkeypatch.setenv("NUMPY_MADVISE_HUGEPAGE", "1")
    with small_pages():
        assert advice() is True


_PROBE = """
import numpy as np
from pathlib import Path
from geoagri._engine.pages import small_pages

def huge_kib(array):
    lo_a = array.ctypes.data
    hi_a = lo_a + array.nbytes
    total, inside = 0, False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        head = line.split()[0]
        if "-" in head and not head.endswith(":"):
            lo, hi = (int(v, 16) for v in head.split("-"))
            inside = lo < hi_a and lo_a < hi
        elif inside and head == "AnonHugePages:":
            total += int(line.split()[1])
    return total

outside = np.ones(64 << 17)  # 64 MiB, touched: past glibc's largest mmap threshold
with small_pages():
    inside = np.ones(64 << 17)
print(huge_kib(outside), huge_kib(inside))
"""


@pytest.mark.skipif(
    not Path("/sys/kernel/mm/transparent_hugepage/enabled").exists()
    or "[madvise]" not in Path("/sys/kernel/mm/transparent_hugepage/enabled").read_text(),
    reason="the kernel gives huge pages only when advised (THP 'madvise') to tell them apart")
def test_arrays_made_inside_get_no_huge_pages():
    # in a fresh process: fresh mappings, whatever this process allocated and freed before
    root = Path(__file__).resolve().parents[1]
    env = {k: v for k, v in os.environ.items() if k != "NUMPY_MADVISE_HUGEPAGE"}
    done = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True,
                          cwd=root, env={**env, "PYTHONPATH": str(root)}, check=True)
    outside, inside = map(int, done.stdout.split())
    assert outside > 0  # the kernel does give huge pages when advised
    assert inside == 0

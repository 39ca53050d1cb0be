"""Every chapter runs top to bottom through papermill with its quick-mode parameters.

(``pytest --nbval-lax book`` executes the chapters as well; this test checks the papermill
``parameters`` contract that Binder, Colab and full-mode runs rely on.)
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import papermill
import pytest

CHAPTERS = sorted((Path(__file__).resolve().parents[1] / "book").glob("*.ipynb"))


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.stem for c in CHAPTERS])
def test_chapter_runs_with_papermill_parameters(chapter, tmp_path):
    notebook = nbformat.read(chapter, as_version=4)
    tagged = [cell for cell in notebook.cells if "parameters" in cell.metadata.get("tags", [])]
    assert len(tagged) == 1, "a chapter needs exactly one cell tagged 'parameters'"
    assert "quick" in tagged[0].source
    output = tmp_path / chapter.name
    # A per-cell limit, far above any quick-mode cell: a kernel that stops answering fails the test with
    # papermill's timeout error instead of blocking the test run (seen once: a cell finished in the kernel
    # while the client kept waiting for its reply).
    papermill.execute_notebook(
        str(chapter), str(output), parameters={"quick": True}, kernel_name="python3", cwd=str(chapter.parent),
        progress_bar=False, execution_timeout=600,
    )
    executed = nbformat.read(output, as_version=4)
    injected = [cell for cell in executed.cells if "injected-parameters" in cell.metadata.get("tags", [])]
    assert injected and "quick = True" in injected[0].source

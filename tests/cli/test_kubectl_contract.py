"""CLI.md "More of kubectl" as a black box: selectors (-l, --field-selector)
in get and delete, get -w/--watch-only, --show-labels, --no-headers,
--sort-by, -o custom-columns, JSONPath range/end and .., several kinds and
`all`, and describe — `rdd` run as a subprocess against a real stack."""

from __future__ import annotations

import json
import queue
import subprocess
import threading
from collections.abc import Iterator

import pytest

from tests.support.cli import apply, ok, run_rdd, start_rdd
from tests.support.waiting import wait_until

NS = "kc"


def labelled(name: str, namespace: str = NS, **labels: str) -> str:
    label_lines = "".join(f"\n    {k}: {json.dumps(v)}" for k, v in labels.items())
    labels_block = f"\n  labels:{label_lines}" if labels else ""
    return (
        f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n"
        f"  namespace: {namespace}{labels_block}\ndata:\n  size: {json.dumps(name)}\n"
    )


@pytest.fixture(scope="module")
def objects(env: dict[str, str]) -> str:
    """c-a app=rd tier=web, c-b app=db, c-c no labels (namespace kc)."""
    manifest = "---\n".join(
        [labelled("c-a", app="rd", tier="web"), labelled("c-b", app="db"), labelled("c-c")]
    )
    ok(apply(env, manifest))
    return NS


def get(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run_rdd("ctl", "get", *args, env=env)


def first_column(text: str) -> list[str]:
    return [line.split()[0] for line in text.splitlines()]


# -- selectors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("app=rd", ["c-a"]),
        ("app==rd", ["c-a"]),
        ("app!=rd", ["c-b", "c-c"]),
        ("app", ["c-a", "c-b"]),
        ("!app", ["c-c"]),
        ("app in (rd,db)", ["c-a", "c-b"]),
        ("app notin (rd)", ["c-b", "c-c"]),
        ("app,tier=web", ["c-a"]),
    ],
)
def test_get_by_label_selector(
    env: dict[str, str], objects: str, selector: str, expected: list[str]
) -> None:
    out = ok(get(env, "cm", "-n", objects, "-l", selector, "-o", "name"))
    assert out == "".join(f"configmap/{name}\n" for name in expected)
    long_form = ok(get(env, "cm", "-n", objects, f"--selector={selector}", "--no-headers"))
    assert first_column(long_form) == expected


def test_get_by_field_selector(env: dict[str, str], objects: str) -> None:
    out = ok(get(env, "cm", "-A", "--field-selector", f"metadata.namespace={objects}"))
    assert [line.split()[1] for line in out.splitlines()[1:]] == ["c-a", "c-b", "c-c"]
    out = ok(get(env, "cm", "-n", objects, "--field-selector=metadata.name!=c-a", "-l", "app"))
    assert first_column(out) == ["NAME", "c-b"]


def test_selector_matching_nothing(env: dict[str, str], objects: str) -> None:
    result = get(env, "cm", "-n", objects, "-l", "app=none")
    assert (result.returncode, result.stdout) == (0, "")
    assert result.stderr == f"No resources found in {objects} namespace.\n"


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        (
            "-l",
            "app rd",
            'Error from server (BadRequest): Unable to find "configmaps" that match label '
            'selector "app rd", field selector "": unable to parse requirement: found \'rd\', '
            "expected: in, notin, =, ==, !=, gt, lt",
        ),
        (
            "-l",
            "app in rd",
            'Error from server (BadRequest): Unable to find "configmaps" that match label '
            'selector "app in rd", field selector "": unable to parse requirement: found '
            "'rd' expected: '('",
        ),
        (
            "--field-selector",
            "spec.x=1",
            'Error from server (BadRequest): Unable to find "configmaps" that match label '
            'selector "", field selector "spec.x=1": field label not supported: spec.x',
        ),
    ],
)
@pytest.mark.parametrize("verb", ["get", "delete"])
def test_bad_selectors(
    env: dict[str, str], objects: str, verb: str, flag: str, value: str, message: str
) -> None:
    result = run_rdd("ctl", verb, "cm", "-n", objects, flag, value, env=env)
    assert (result.returncode, result.stdout, result.stderr) == (1, "", message + "\n")


def test_name_and_selector_together_is_a_usage_error(env: dict[str, str]) -> None:
    for verb in ("get", "delete", "describe"):
        result = run_rdd("ctl", verb, "cm", "c-a", "-l", "app", env=env)
        assert (result.returncode, result.stdout) == (1, "")
        assert result.stderr == "error: name cannot be provided when a selector is specified\n"


def test_delete_by_selector(env: dict[str, str]) -> None:
    ns = "kc-del"
    manifest = "---\n".join(
        [labelled("d-1", ns, app="x"), labelled("d-2", ns, app="x"), labelled("d-3", ns)]
    )
    ok(apply(env, manifest))
    out = ok(run_rdd("ctl", "delete", "cm", "-n", ns, "-l", "app=x", env=env))
    assert out == 'configmap "d-1" deleted\nconfigmap "d-2" deleted\n'
    assert ok(get(env, "cm", "-n", ns, "-o", "name")) == "configmap/d-3\n"
    none = run_rdd("ctl", "delete", "cm", "-n", ns, "-l", "app=x", env=env)
    assert (none.returncode, none.stdout) == (0, "No resources found\n")
    assert none.stderr == ""
    by_field = run_rdd(
        "ctl", "delete", "cm", "-n", ns, "--field-selector=metadata.name=d-3", env=env
    )
    assert ok(by_field) == 'configmap "d-3" deleted\n'


# -- table options and formats ---------------------------------------------------------------


def test_show_labels_and_no_headers(env: dict[str, str], objects: str) -> None:
    table = ok(get(env, "cm", "-n", objects, "--show-labels")).splitlines()
    assert table[0].split() == ["NAME", "DATA", "AGE", "LABELS"]
    assert [(row.split()[0], row.split()[-1]) for row in table[1:]] == [
        ("c-a", "app=rd,tier=web"),
        ("c-b", "app=db"),
        ("c-c", "<none>"),
    ]
    bare = ok(get(env, "cm", "-n", objects, "--no-headers")).splitlines()
    assert first_column("\n".join(bare)) == ["c-a", "c-b", "c-c"]


def test_sort_by(env: dict[str, str], objects: str) -> None:
    by_label = ok(get(env, "cm", "-n", objects, "--sort-by=.metadata.labels.app", "--no-headers"))
    assert first_column(by_label) == ["c-c", "c-b", "c-a"]  # missing first, then db, rd
    braces = ok(get(env, "cm", "-n", objects, "--sort-by={.metadata.labels.app}", "-o", "name"))
    assert braces == "configmap/c-c\nconfigmap/c-b\nconfigmap/c-a\n"
    listed = json.loads(
        ok(get(env, "cm", "-n", objects, "--sort-by=metadata.labels.app", "-o", "json"))
    )
    assert [o["metadata"]["name"] for o in listed["items"]] == ["c-c", "c-b", "c-a"]


def test_custom_columns(env: dict[str, str], objects: str) -> None:
    spec = "custom-columns=NAME:.metadata.name,APP:.metadata.labels.app,DATA:{.data.size}"
    out = ok(get(env, "cm", "-n", objects, "-o", spec))
    assert [line.split() for line in out.splitlines()] == [
        ["NAME", "APP", "DATA"],
        ["c-a", "rd", "c-a"],
        ["c-b", "db", "c-b"],
        ["c-c", "<none>", "c-c"],
    ]
    headless = ok(
        get(env, "cm", "-n", objects, "-o", "custom-columns=N:.metadata.name", "--no-headers")
    )
    assert headless == "c-a\nc-b\nc-c\n"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("custom-columns=", "error: custom-columns format specified but no custom columns given"),
        (
            "custom-columns=NAME",
            "error: unexpected custom-columns spec: NAME, expected <header>:<json-path-expr>",
        ),
    ],
)
def test_bad_custom_columns(env: dict[str, str], spec: str, message: str) -> None:
    result = get(env, "cm", "-o", spec)
    assert (result.returncode, result.stdout, result.stderr) == (1, "", message + "\n")


def test_jsonpath_range_and_recursive_descent(env: dict[str, str], objects: str) -> None:
    template = 'jsonpath={range .items[*]}{.metadata.name}={.metadata.labels.app}{"\\n"}{end}'
    out = ok(get(env, "cm", "-n", objects, "-o", template))
    assert out == "c-a=rd\nc-b=db\nc-c=\n"
    names = ok(get(env, "cm", "-n", objects, "-o", "jsonpath={..labels.app}"))
    assert names == "rd db"


def test_several_kinds_and_all(env: dict[str, str], objects: str) -> None:
    out = ok(get(env, "cm,app", "-n", objects, "-l", "app=rd"))
    assert out.splitlines()[0].split() == ["NAME", "DATA", "AGE"]
    assert out.splitlines()[1].split()[0] == "configmap/c-a"
    listed = json.loads(ok(get(env, "configmap,limavm", "-n", objects, "-o", "json")))
    assert listed["kind"] == "List"
    assert [o["metadata"]["name"] for o in listed["items"]] == ["c-a", "c-b", "c-c"]
    everything = ok(get(env, "all", "-n", objects, "-o", "name"))
    assert everything == "configmap/c-a\nconfigmap/c-b\nconfigmap/c-c\n"
    mixed = ok(get(env, "cm/c-a", "cm/c-b", "-n", objects, "-o", "name"))
    assert mixed == "configmap/c-a\nconfigmap/c-b\n"


def test_all_with_a_running_app(env: dict[str, str]) -> None:
    ok(run_rdd("start", env=env, timeout=120))
    out = ok(get(env, "all"))
    tables = out.split("\n\n")
    assert [t.splitlines()[0].split()[0] for t in tables] == ["NAME", "NAME", "NAME"]
    assert tables[0].splitlines()[1].split()[0] == "app.app.rancherdesktop.io/app"
    assert tables[1].splitlines()[1].split()[0] == "limavm.lima.rancherdesktop.io/rd"
    assert "configmap/rd-template" in tables[2]


# -- describe -------------------------------------------------------------------------------


def test_describe_configmap(env: dict[str, str], objects: str) -> None:
    out = ok(run_rdd("ctl", "describe", "cm", "c-a", "-n", objects, env=env))
    lines = out.splitlines()
    assert lines[0].split() == ["Name:", "c-a"]
    assert lines[1].split() == ["Namespace:", objects]
    assert lines[2].split() == ["Labels:", "app=rd"]
    assert lines[3].split() == ["tier=web"]
    assert lines[2].index("app=rd") == lines[3].index("tier=web") == lines[0].index("c-a")
    headings = [line.split(":")[0] for line in lines if line and not line.startswith(" ")]
    assert headings[:8] == [
        "Name",
        "Namespace",
        "Labels",
        "Annotations",
        "Finalizers",
        "API Version",
        "Kind",
        "CreationTimestamp",
    ]
    assert lines[lines.index("Data") + 1] == "===="
    assert lines[-1] == "Events:  <none>"


def test_describe_by_selector_and_missing(env: dict[str, str], objects: str) -> None:
    out = ok(run_rdd("ctl", "describe", "cm", "-n", objects, "-l", "app", env=env))
    assert [line.split()[1] for line in out.splitlines() if line.startswith("Name:")] == [
        "c-a",
        "c-b",
    ]
    missing = run_rdd("ctl", "describe", "cm", "nope", "-n", objects, env=env)
    assert (missing.returncode, missing.stdout) == (1, "")
    assert missing.stderr == 'Error from server (NotFound): configmaps "nope" not found\n'


def test_describe_limavm_shows_owner_conditions_and_events(env: dict[str, str]) -> None:
    ok(run_rdd("start", env=env, timeout=120))

    def described_with_started() -> list[str] | None:
        """Events are recorded a moment after the status that caused them."""
        lines = ok(run_rdd("ctl", "describe", "limavm", "rd", env=env)).splitlines()
        reasons = [line.split()[1] for line in lines if line.startswith("  Normal")]
        return lines if "Started" in reasons else None

    lines = wait_until(described_with_started, message="describe shows no Started Event")
    assert lines[0].split() == ["Name:", "rd"]
    assert "Controlled By:      App/app" in lines
    assert "Spec:" in lines and "  Running:      true" in lines
    assert "  Template Ref:" in lines
    conditions = lines.index("Conditions:")
    assert lines[conditions + 1].split() == [
        "Type",
        "Status",
        "LastTransitionTime",
        "Reason",
        "Message",
    ]
    assert [lines[conditions + 3].split()[:2], lines[conditions + 4].split()[:2]] == [
        ["Created", "True"],
        ["Running", "True"],
    ]
    events = lines.index("Events:")
    assert events > conditions
    assert lines[events + 1].split() == ["Type", "Reason", "Age", "Message"]
    assert "Started" in [line.split()[1] for line in lines[events + 3 :]]
    started = ok(
        get(
            env,
            "ev",
            "--field-selector=involvedObject.kind=LimaVM,reason=Started,type=Normal",
            "-o",
            "custom-columns=T:.type,R:.reason,K:.involvedObject.kind,N:.involvedObject.name",
            "--no-headers",
        )
    ).splitlines()
    assert started and {tuple(row.split()) for row in started} == {
        ("Normal", "Started", "LimaVM", "rd")
    }
    wrong = get(env, "cm", "--field-selector=reason=Started")
    assert (wrong.returncode, wrong.stdout) == (1, "")
    assert wrong.stderr.endswith(": field label not supported: reason\n")
    app = ok(run_rdd("ctl", "describe", "app", env=env)).splitlines()
    assert app[1].rstrip() == "Namespace:"
    assert any(line.split()[:2] == ["Settled", "True"] for line in app)
    assert app.index("Events:") > app.index("Conditions:")


# -- watch ----------------------------------------------------------------------------------


class Lines:
    """A running `rdd` whose stdout lines are read as they come."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        self.process = start_rdd(*args, env=env)
        self.lines: queue.Queue[str] = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def next(self, timeout: float = 20) -> str:
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError("no line in time") from None

    def nothing_within(self, seconds: float) -> bool:
        try:
            self.lines.get(timeout=seconds)
        except queue.Empty:
            return True
        return False

    def stop(self) -> str:
        self.process.terminate()
        self.process.wait(timeout=10)
        assert self.process.stderr is not None
        return self.process.stderr.read()


@pytest.fixture
def watching(env: dict[str, str]) -> Iterator[list[Lines]]:
    started: list[Lines] = []
    yield started
    for each in started:
        each.stop()


def watch(env: dict[str, str], watching: list[Lines], *args: str) -> Lines:
    lines = Lines(env, "ctl", "get", *args)
    watching.append(lines)
    return lines


def test_watch_prints_the_list_then_each_change(env: dict[str, str], watching) -> None:
    ns = "kc-w"
    ok(apply(env, labelled("w-1", ns)))
    lines = watch(env, watching, "cm", "-n", ns, "-w")
    assert lines.next().split() == ["NAME", "DATA", "AGE"]
    assert lines.next().split()[0] == "w-1"
    ok(apply(env, labelled("w-2", ns)))
    assert lines.next().split()[:2] == ["w-2", "1"]
    ok(run_rdd("ctl", "delete", "cm", "w-1", "-n", ns, env=env))
    assert lines.next().split()[0] == "w-1"


def test_watch_only_and_selectors(env: dict[str, str], watching) -> None:
    ns = "kc-wo"
    ok(apply(env, labelled("old", ns, app="rd")))
    only = watch(env, watching, "cm", "-n", ns, "--watch-only", "-l", "app=rd")
    # --watch-only prints nothing until a change: make selected changes until
    # the first one shows (however long the command takes to start watching).
    header = ""
    for attempt in range(40):
        ok(apply(env, labelled("other", ns, app="db", n=str(attempt))))  # never selected
        ok(apply(env, labelled(f"new-{attempt}", ns, app="rd")))
        try:
            header = only.lines.get(timeout=0.5)
            break
        except queue.Empty:
            continue
    assert header.split() == ["NAME", "DATA", "AGE"]  # the header comes with the first row
    assert only.next().split()[0].startswith("new-")  # not "old", not "other"
    names = watch(env, watching, "cm", "-n", ns, "-w", "-l", "app=rd", "-o", "name")
    listed = [names.next() for _ in range(attempt + 2)]
    assert listed[0] == "configmap/new-0" and listed[-1] == "configmap/old"
    ok(apply(env, labelled("newest", ns, app="rd")))
    assert names.next() == "configmap/newest"


def read_json_document(lines: Lines) -> dict:
    """One `-o json` object: from a line `{` to the line `}` that closes it."""
    text = [lines.next()]
    assert text[0] == "{"
    while text[-1] != "}":
        text.append(lines.next())
    return json.loads("\n".join(text))


def test_watch_one_object_as_json(env: dict[str, str], watching) -> None:
    ns = "kc-wj"
    ok(apply(env, labelled("one", ns)))
    lines = watch(env, watching, "cm", "one", "-n", ns, "-w", "-o", "json")
    assert read_json_document(lines)["metadata"]["name"] == "one"
    ok(apply(env, labelled("two", ns)))  # another object: not printed
    ok(run_rdd("ctl", "annotate", "cm", "one", "-n", ns, "x=y", env=env))
    changed = read_json_document(lines)
    assert changed["metadata"]["name"] == "one"
    assert changed["metadata"]["annotations"]["x"] == "y"


def test_watch_of_several_kinds_is_refused(env: dict[str, str]) -> None:
    result = get(env, "cm,app", "-w")
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        "error: watch is only supported on individual resources and resource collections, "
        "but 2 resources were found\n"
    )

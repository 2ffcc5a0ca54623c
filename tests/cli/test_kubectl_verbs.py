"""CLI.md "More of kubectl", the rest of the verbs, as a black box: delete -f
/ --all, label, patch --type=json and --patch-file, diff, api-resources,
completion, svc logs, version, and unknown manifest fields — `rdd` run as a
subprocess against a real stack."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.cli import apply, configmap, ok, run_rdd, stack_env, start_rdd
from tests.support.processes import has_read_to_end
from tests.support.waiting import wait_until


def ctl(
    env: dict[str, str], *args: str, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    return run_rdd("ctl", *args, env=env, input=input)


def jsonpath(env: dict[str, str], kind_name: str, ns: str, path: str) -> str:
    kind, name = kind_name.split("/")
    return ok(ctl(env, "get", kind, name, "-n", ns, "-o", f"jsonpath={path}"))


def failed(result: subprocess.CompletedProcess[str], code: int = 1) -> str:
    assert result.returncode == code, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr
    return result.stderr


# -- delete -f / --all -----------------------------------------------------------------


def test_delete_from_a_file_a_folder_and_stdin(env: dict[str, str], tmp_path: Path) -> None:
    ns = "del-f"
    folder = tmp_path / "manifests"
    folder.mkdir()
    (folder / "a.yaml").write_text(configmap("f-a", ns) + "---\n" + configmap("f-b", ns))
    (folder / "c.json").write_text(
        json.dumps(
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "f-c", "namespace": ns}}
        )
    )
    (folder / "notes.txt").write_text("not a manifest")
    ok(ctl(env, "apply", "-f", str(folder)))
    out = ok(ctl(env, "delete", "-f", str(folder)))
    assert out == 'configmap "f-a" deleted\nconfigmap "f-b" deleted\nconfigmap "f-c" deleted\n'
    assert ok(ctl(env, "get", "cm", "-n", ns, "-o", "name")) == ""

    again = ctl(env, "delete", "-f", str(folder / "a.yaml"))
    assert failed(again) == (
        f'Error from server (NotFound): error when deleting "{folder / "a.yaml"}": '
        'configmaps "f-a" not found\n'
        f'Error from server (NotFound): error when deleting "{folder / "a.yaml"}": '
        'configmaps "f-b" not found\n'
    )
    quiet = ctl(env, "delete", "-f", str(folder), "--ignore-not-found")
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", "")

    ok(apply(env, configmap("f-d", ns)))
    piped = ctl(env, "delete", "-f", "-", input=configmap("f-d", ns))
    assert ok(piped) == 'configmap "f-d" deleted\n'


def test_delete_f_refuses_before_deleting_anything(env: dict[str, str], tmp_path: Path) -> None:
    ns = "del-bad"
    ok(apply(env, configmap("keep", ns)))
    broken = tmp_path / "broken.yaml"
    broken.write_text(configmap("keep", ns) + "---\nkind: ConfigMap\napiVersion: v1\nbogus: 1\n")
    result = ctl(env, "delete", "-f", str(broken))
    assert failed(result) == (
        f'error: error validating "{broken}": error validating data: unknown field "bogus" in '
        "ConfigMap\n"
    )
    assert ok(ctl(env, "get", "cm", "-n", ns, "-o", "name")) == "configmap/keep\n"
    both = ctl(env, "delete", "cm", "keep", "-n", ns, "-f", str(broken))
    assert failed(both) == (
        "error: when paths, URLs, or stdin is provided as input, you may not specify resource "
        "arguments as well\n"
    )
    missing = ctl(env, "delete", "-f", str(tmp_path / "nope.yaml"))
    assert failed(missing) == f'error: the path "{tmp_path / "nope.yaml"}" does not exist\n'


def test_delete_all_in_a_namespace_and_in_all(env: dict[str, str]) -> None:
    ok(apply(env, configmap("x-1", "all-a") + "---\n" + configmap("x-2", "all-a")))
    ok(apply(env, configmap("x-3", "all-b")))
    out = ok(ctl(env, "delete", "cm", "--all", "-n", "all-a"))
    assert out == 'configmap "x-1" deleted\nconfigmap "x-2" deleted\n'
    assert ok(ctl(env, "get", "cm", "-n", "all-b", "-o", "name")) == "configmap/x-3\n"
    none = ctl(env, "delete", "cm", "--all", "-n", "all-a")
    assert (none.returncode, none.stdout, none.stderr) == (0, "No resources found\n", "")

    ok(apply(env, configmap("x-4", "all-a")))
    everywhere = ok(ctl(env, "delete", "cm", "--all", "-A"))
    assert 'configmap "x-3" deleted\n' in everywhere
    assert 'configmap "x-4" deleted\n' in everywhere


def test_delete_all_refusals(env: dict[str, str]) -> None:
    assert failed(ctl(env, "delete", "cm", "x", "--all")) == (
        "error: name cannot be provided when a selector is specified\n"
    )
    assert failed(ctl(env, "delete", "cm", "--all", "-l", "a=b")) == (
        "error: cannot set --all and --selector at the same time\n"
    )
    assert failed(ctl(env, "delete", "cm", "--all", "--field-selector=metadata.name=a")) == (
        "error: cannot set --all and --field-selector at the same time\n"
    )
    assert failed(ctl(env, "delete", "cm")) == (
        "error: resource(s) were provided, but no name was specified\n"
    )
    assert failed(ctl(env, "delete")).startswith(
        "error: You must provide one or more resources by argument or filename.\n"
    )


# -- label -------------------------------------------------------------------------------


def test_label_set_refuse_overwrite_and_remove(env: dict[str, str]) -> None:
    ns = "lbl"
    ok(apply(env, configmap("l-1", ns)))
    assert ok(ctl(env, "label", "cm", "l-1", "-n", ns, "env=dev", "example.com/tier=web")) == (
        "configmap/l-1 labeled\n"
    )
    labels = json.loads(jsonpath(env, "cm/l-1", ns, "{.metadata.labels}"))
    assert labels == {"env": "dev", "example.com/tier": "web"}
    version = jsonpath(env, "cm/l-1", ns, "{.metadata.resourceVersion}")

    refused = ctl(env, "label", "cm", "l-1", "-n", ns, "env=prod")
    assert failed(refused) == "error: 'env' already has a value (dev), and --overwrite is false\n"
    assert refused.stdout == ""
    assert jsonpath(env, "cm/l-1", ns, "{.metadata.resourceVersion}") == version

    same = ctl(env, "label", "cm/l-1", "-n", ns, "env=dev")
    assert ok(same) == "configmap/l-1 not labeled\n"
    assert ok(ctl(env, "label", "cm", "l-1", "-n", ns, "env=prod", "--overwrite")) == (
        "configmap/l-1 labeled\n"
    )
    assert jsonpath(env, "cm/l-1", ns, "{.metadata.labels.env}") == "prod"
    assert ok(ctl(env, "label", "cm", "l-1", "-n", ns, "env-")) == "configmap/l-1 unlabeled\n"
    assert ok(ctl(env, "label", "cm", "l-1", "-n", ns, "env-")) == (
        'label "env" not found.\nconfigmap/l-1 not labeled\n'
    )
    dry = ctl(env, "label", "cm", "l-1", "-n", ns, "x=y", "--dry-run=server")
    assert ok(dry) == "configmap/l-1 labeled (server dry run)\n"
    assert json.loads(jsonpath(env, "cm/l-1", ns, "{.metadata.labels}")) == {
        "example.com/tier": "web"
    }
    selected = ok(ctl(env, "get", "cm", "-n", ns, "-l", "example.com/tier=web", "-o", "name"))
    assert selected == "configmap/l-1\n"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            "bad key=v",
            "error: invalid label spec: bad key=v, name part must consist of alphanumeric "
            "characters, '-', '_' or '.', and must start and end with an alphanumeric character",
        ),
        (
            "Bad_Prefix/k=v",
            "error: invalid label spec: Bad_Prefix/k=v, prefix part a lowercase RFC 1123 "
            "subdomain must consist of",
        ),
        ("k=-v", 'error: invalid label value: "k=-v": a valid label must be an empty string'),
        ("k=" + "v" * 64, 'error: invalid label value: "k=' + "v" * 64 + '": must be no more'),
        ("a=b=c", "error: invalid label spec: a=b=c"),
        ("k-=v", "error: invalid label spec: k-=v, name part must consist of"),
        ("justakey", "error: at least one label update is required"),
    ],
)
def test_label_refuses_what_kubernetes_refuses(
    env: dict[str, str], spec: str, message: str
) -> None:
    ok(apply(env, configmap("l-bad", "lbl")))
    result = ctl(env, "label", "cm", "l-bad", "-n", "lbl", spec)
    assert failed(result).startswith(message)
    assert jsonpath(env, "cm/l-bad", "lbl", "{.metadata.labels}") == ""


def test_label_of_a_missing_object(env: dict[str, str]) -> None:
    result = ctl(env, "label", "cm", "ghost", "-n", "lbl", "a=b")
    assert failed(result) == 'Error from server (NotFound): configmaps "ghost" not found\n'


# -- patch --type=json / --patch-file ----------------------------------------------------


def test_patch_json(env: dict[str, str], tmp_path: Path) -> None:
    ns = "pj"
    ok(apply(env, configmap("p-1", ns, a="1", b="2")))
    ops = json.dumps(
        [
            {"op": "replace", "path": "/data/a", "value": "10"},
            {"op": "remove", "path": "/data/b"},
            {"op": "add", "path": "/metadata/labels", "value": {"patched": "yes"}},
            {"op": "test", "path": "/data/a", "value": "10"},
        ]
    )
    assert ok(ctl(env, "patch", "cm", "p-1", "-n", ns, "--type=json", "-p", ops)) == (
        "configmap/p-1 patched\n"
    )
    assert json.loads(jsonpath(env, "cm/p-1", ns, "{.data}")) == {"a": "10"}
    assert jsonpath(env, "cm/p-1", ns, "{.metadata.labels.patched}") == "yes"

    unchanged = ctl(
        env,
        "patch",
        "cm",
        "p-1",
        "-n",
        ns,
        "--type",
        "json",
        "-p",
        '[{"op": "replace", "path": "/data/a", "value": "10"}]',
    )
    assert ok(unchanged) == "configmap/p-1 patched (no change)\n"

    patch_file = tmp_path / "patch.yaml"
    patch_file.write_text("- op: add\n  path: /data/c\n  value: '3'\n")
    from_file = ctl(
        env, "patch", "cm", "p-1", "-n", ns, "--type=json", "--patch-file", str(patch_file)
    )
    assert ok(from_file) == "configmap/p-1 patched\n"
    merge_file = tmp_path / "merge.json"
    merge_file.write_text('{"data": {"c": null, "d": "4"}}')
    merged = ctl(env, "patch", "cm", "p-1", "-n", ns, "--patch-file", str(merge_file))
    assert ok(merged) == "configmap/p-1 patched\n"
    assert json.loads(jsonpath(env, "cm/p-1", ns, "{.data}")) == {"a": "10", "d": "4"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--type=json", "-p", '[{"op": "replace", "path": "/data/a", "value": "1"'],
            'error: unable to parse "[{"op": "replace", "path": "/data/a", "value": "1"": '
            "line 2: did not find expected ',' or '}'\n",
        ),
        (
            ["--type=json", "-p", '[{"op": "bogus", "path": "/data/a"}]'],
            'error: invalid JSON patch operation 0: unknown op "bogus": use add, remove, '
            "replace, move, copy or test\n",
        ),
        (
            ["--type=json", "-p", '[{"op": "replace", "path": "/data/nope", "value": "x"}]'],
            "error: jsonpatch replace operation does not apply: doc is missing path: /data/nope\n",
        ),
        (
            ["--type=json", "-p", '[{"op": "remove", "path": "/spec/x"}]'],
            "error: jsonpatch remove operation does not apply: doc is missing path: /spec/x\n",
        ),
        (
            ["--type=json", "-p", '{"op": "add", "path": "/data/x", "value": "1"}'],
            'error: a JSON patch must be a list of operations, e.g. [{"op": "replace", '
            '"path": "/spec/running", "value": true}]\n',
        ),
        (
            ["--type=json", "-p", '[{"op": "test", "path": "/data/a", "value": "2"}]'],
            "error: testing value /data/a failed: test failed\n",
        ),
        (
            ["--type=json", "-p", '[{"op": "add", "path": "/data/x", "value": 1}]'],
            'error: error validating data: invalid type for "data.x" in ConfigMap: got '
            '"integer", expected "string"\n',
        ),
        (
            ["--type=json", "-p", '[{"op": "add", "path": "/spec", "value": {}}]'],
            'error: error validating data: unknown field "spec" in ConfigMap\n',
        ),
        (["-p", "[1]"], 'error: unable to parse "[1]": a merge patch must be a JSON object\n'),
        (
            ["--type=strategic", "-p", "{}"],
            'error: --type must be one of [json merge], not "strategic"\n',
        ),
        (
            ["-p", "{}", "--patch-file", "x"],
            "error: both patch and patch-file cannot be specified\n",
        ),
        ([], "error: must specify patch or patch-file containing the operations to apply\n"),
        (
            ["--patch-file", "/nonexistent/p.json"],
            "error: unable to read patch file: [Errno 2] No such file or directory: "
            "'/nonexistent/p.json'\n",
        ),
    ],
)
def test_bad_patches_write_nothing(env: dict[str, str], args: list[str], message: str) -> None:
    ns = "pj-bad"
    ok(apply(env, configmap("p-bad", ns, a="1")))
    version = jsonpath(env, "cm/p-bad", ns, "{.metadata.resourceVersion}")
    result = ctl(env, "patch", "cm", "p-bad", "-n", ns, *args)
    assert failed(result) == message
    assert result.stdout == ""
    assert jsonpath(env, "cm/p-bad", ns, "{.metadata.resourceVersion}") == version


# -- diff --------------------------------------------------------------------------------


def test_diff_without_changes_exits_0(env: dict[str, str]) -> None:
    manifest = configmap("d-same", "df", a="1")
    ok(apply(env, manifest))
    result = ctl(env, "diff", "-f", "-", input=manifest)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_diff_with_changes_exits_1_and_writes_nothing(env: dict[str, str], tmp_path: Path) -> None:
    ok(apply(env, configmap("d-change", "df", a="1", b="2")))
    version = jsonpath(env, "cm/d-change", "df", "{.metadata.resourceVersion}")
    changed = tmp_path / "changed.yaml"
    changed.write_text(
        configmap("d-change", "df", a="1", b="3") + "---\n" + configmap("d-new", "df")
    )
    result = ctl(env, "diff", "-f", str(changed))
    assert result.returncode == 1, result.stderr
    assert result.stderr == ""
    name = "v1.ConfigMap.df.d-change"
    lines = result.stdout.splitlines()
    assert lines[:3] == [
        f"diff -u -N LIVE/{name} MERGED/{name}",
        f"--- LIVE/{name}",
        f"+++ MERGED/{name}",
    ]
    assert '-  b: "2"' in lines or "-  b: '2'" in lines
    assert "-  b: '2'" in lines
    assert "+  b: '3'" in lines
    assert "+++ MERGED/v1.ConfigMap.df.d-new" in lines
    assert "+  name: d-new" in lines
    assert not any(
        line.startswith("-") and "d-new" in line for line in lines[3:] if not line.startswith("---")
    )
    assert jsonpath(env, "cm/d-change", "df", "{.metadata.resourceVersion}") == version
    assert ctl(env, "get", "cm", "d-new", "-n", "df").returncode == 1


def test_diff_errors_exit_2(env: dict[str, str], tmp_path: Path) -> None:
    missing = ctl(env, "diff", "-f", str(tmp_path / "none.yaml"))
    assert failed(missing, 2) == f'error: the path "{tmp_path / "none.yaml"}" does not exist\n'
    bad = ctl(
        env,
        "diff",
        "-f",
        "-",
        input="apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: [1]\n",
    )
    assert failed(bad, 2) == (
        'error: error validating "STDIN": error validating data: invalid type for "data" in '
        'ConfigMap: got "array", expected "object"\n'
    )


# -- unknown fields ----------------------------------------------------------------------


def test_unknown_fields_are_named_with_their_kind(env: dict[str, str]) -> None:
    manifest = (
        "apiVersion: lima.rancherdesktop.io/v1alpha1\nkind: LimaVM\nmetadata:\n  name: typo\n"
        "spec:\n  runing: true\n  templateRef:\n    name: t\n"
    )
    result = apply(env, manifest)
    assert failed(result) == (
        'error: error validating "STDIN": error validating data: unknown field "spec.runing" '
        "in LimaVM\n"
    )
    assert "Available Fields" not in result.stderr


# -- api-resources -----------------------------------------------------------------------


def test_api_resources(env: dict[str, str]) -> None:
    assert ok(ctl(env, "api-resources")) == (
        "NAME         SHORTNAMES   APIVERSION                        NAMESPACED   KIND\n"
        "configmaps   cm           v1                                true         ConfigMap\n"
        "events       ev           v1                                true         Event\n"
        "apps                      app.rancherdesktop.io/v1alpha1    false        App\n"
        "limavms                   lima.rancherdesktop.io/v1alpha1   true         LimaVM\n"
    )
    assert ok(ctl(env, "api-resources", "-o", "name", "--namespaced=false")) == (
        "apps.app.rancherdesktop.io\n"
    )
    wide = ok(ctl(env, "api-resources", "-o", "wide", "--no-headers")).splitlines()
    assert wide[1].split() == ["events", "ev", "v1", "true", "Event", "[get", "list", "watch]"]
    bad = ctl(env, "api-resources", "-o", "json")
    assert failed(bad) == 'error: --output json is not available; use "wide" or "name"\n'


# -- completion --------------------------------------------------------------------------


def test_bash_completion_parses_and_completes_commands(env: dict[str, str], tmp_path: Path) -> None:
    script = tmp_path / "rdd.bash"
    script.write_text(ok(run_rdd("completion", "bash", env=env)))
    subprocess.run(["bash", "-n", str(script)], check=True)

    def complete(*words: str) -> list[str]:
        shell = (
            f"source {script}; COMP_WORDS=({' '.join(repr(w) for w in words)}); "
            f"COMP_CWORD={len(words) - 1}; _rdd; printf '%s\\n' \"${{COMPREPLY[@]}}\""
        )
        done = subprocess.run(["bash", "-c", shell], capture_output=True, text=True, check=True)
        return done.stdout.split()

    top = complete("rdd", "")
    assert {"svc", "ctl", "version", "completion", "limavm", "--version"} <= set(top)
    assert complete("rdd", "ctl", "l") == ["label"]
    assert set(complete("rdd", "ctl", "get", "-n", "x", "c")) == {"configmaps", "cm"}
    assert "--overwrite" in complete("rdd", "ctl", "label", "--")


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish_scripts_parse(env: dict[str, str], tmp_path: Path, shell: str) -> None:
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed")
    script = tmp_path / f"rdd.{shell}"
    script.write_text(ok(run_rdd("completion", shell, env=env)))
    subprocess.run([shell, "-n", str(script)], check=True)
    if shell == "fish":
        done = subprocess.run(
            ["fish", "-c", f"source {script}; complete -C 'rdd ct'"],
            capture_output=True,
            text=True,
            check=True,
        )
        assert done.stdout.split() == ["ctl"]
    else:
        stubbed = (
            f'source {script} 2>/dev/null; compadd() {{ shift; print -l -- "$@"; }}; '
            "words=(rdd ctl ''); CURRENT=3; _rdd"
        )
        done = subprocess.run(["zsh", "-c", stubbed], capture_output=True, text=True, check=True)
        assert {"get", "label", "diff", "api-resources"} <= set(done.stdout.split())


def test_completion_of_an_unknown_shell(env: dict[str, str]) -> None:
    result = run_rdd("completion", "tcsh", env=env)
    assert failed(result) == 'error: unsupported shell type "tcsh": use bash, zsh, fish\n'


# -- svc logs ----------------------------------------------------------------------------


def test_svc_logs_prints_lines_unchanged(env: dict[str, str]) -> None:
    log = Path(env["RDD_HOME"]) / "logs" / "app.log"
    out = ok(run_rdd("svc", "logs", "app", env=env))
    written = log.read_text()
    assert written.startswith(out) or out.startswith(written[: len(out)])
    assert out and all(json.loads(line)["component"] == "app" for line in out.splitlines()[1:])
    tail = ok(run_rdd("svc", "logs", "app", "--tail=2", env=env))
    assert len(tail.splitlines()) == 2
    assert tail.splitlines()[-1] in log.read_text().splitlines()
    assert ok(run_rdd("svc", "logs", "app", "--tail", "0", env=env)) == ""


def test_svc_logs_of_every_component_is_prefixed(env: dict[str, str]) -> None:
    out = ok(run_rdd("svc", "logs", "--tail=1", env=env))
    assert [line.split(" ", 1)[0] for line in out.splitlines()] == [
        "[etcd]",
        "[webhook]",
        "[limavm]",
        "[app]",
    ]


def test_svc_logs_follows(env: dict[str, str]) -> None:
    log = Path(env["RDD_HOME"]) / "logs" / "webhook.log"
    follower = start_rdd("svc", "logs", "webhook", "-f", "--tail=0", env=env)
    try:
        wait_until(lambda: has_read_to_end(follower.pid, log), timeout=30)
        marker = json.dumps({"msg": "follow-marker", "ts": time.time()})
        with open(log, "a") as handle:
            handle.write(marker + "\n")
        assert follower.stdout is not None
        deadline = time.monotonic() + 20
        seen = ""
        while time.monotonic() < deadline and "follow-marker" not in seen:
            seen = follower.stdout.readline()
        assert seen == marker + "\n"
    finally:
        follower.terminate()
        follower.wait(timeout=10)


def test_svc_logs_of_an_unknown_component(env: dict[str, str]) -> None:
    result = run_rdd("svc", "logs", "nginx", env=env)
    assert failed(result) == (
        'error: unknown component "nginx": use etcd, webhook, limavm, app (or a replica such '
        "as app-1)\n"
    )
    never = run_rdd("svc", "logs", "app-7", env=env)
    assert failed(never).startswith('error: no log for "app-7" in ')


# -- version -----------------------------------------------------------------------------


def test_version_of_client_and_services(env: dict[str, str]) -> None:
    document = json.loads(ok(run_rdd("version", "-o", "json", env=env)))
    assert set(document) == {"clientVersion", "serverVersions"}
    client = document["clientVersion"]
    assert client["gitVersion"] == f"v{client['major']}.{client['minor']}" + client[
        "gitVersion"
    ].removeprefix(f"v{client['major']}.{client['minor']}")
    assert set(document["serverVersions"]) == {"app", "limavm", "webhook"}
    for served in document["serverVersions"].values():
        assert served == client  # one installation runs the client and the services
    text = ok(run_rdd("version", env=env))
    assert text == (
        f"Client Version: {client['gitVersion']}\n"
        + "".join(
            f"Server Version ({s}): {client['gitVersion']}\n" for s in ("app", "limavm", "webhook")
        )
    )
    assert ok(run_rdd("--version", env=env)) == f"rdd {client['gitVersion']}\n"


def test_version_without_a_stack(tmp_path: Path) -> None:
    alone = stack_env(tmp_path / "none")
    result = run_rdd("version", "-o", "json", env=alone)
    assert failed(result).startswith("error: the rdd stack is not running")
    assert set(json.loads(result.stdout)) == {"clientVersion"}
    client_only = json.loads(ok(run_rdd("version", "--client", "-o", "json", env=alone)))
    assert set(client_only) == {"clientVersion"}

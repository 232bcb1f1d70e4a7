"""docker-compose.yml and the Dockerfile agree with the real CLI and keep credentials and ports local.

No Docker engine runs here: these tests read the files as compose would (YAML, before variable
interpolation) and check them against the typer app and the settings the image will run.
"""

from __future__ import annotations

import itertools
import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml

import kg.cli
from kg.settings import LOCAL_DEFAULT_PASSWORD

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"

# The only form a password may take in the compose file: from the environment, with kg's documented
# local default as the fallback.
PASSWORD_FROM_ENV = "${NEO4J_PASSWORD:-" + LOCAL_DEFAULT_PASSWORD + "}"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{COMPOSE_FILE}: top level is not a mapping"
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = compose.get("services")
    assert isinstance(found, dict) and found, f"{COMPOSE_FILE}: no services"
    return found


def _as_argv(value: str | list[str] | None) -> list[str]:
    if value is None:
        return []
    return shlex.split(value) if isinstance(value, str) else [str(v) for v in value]


def _dockerfile_entrypoint() -> list[str]:
    entrypoints = [
        line.split(None, 1)[1]
        for line in DOCKERFILE.read_text(encoding="utf-8").splitlines()
        if line.startswith("ENTRYPOINT")
    ]
    assert entrypoints, f"{DOCKERFILE}: no ENTRYPOINT"
    argv = json.loads(entrypoints[-1])  # exec form; the last ENTRYPOINT wins
    assert isinstance(argv, list)
    return [str(a) for a in argv]


def _kg_argv(service: dict[str, Any]) -> list[str] | None:
    """The kg arguments a service runs (after the `kg` program), or None if it does not run kg."""
    entrypoint = _as_argv(service.get("entrypoint"))
    if not entrypoint and "build" in service:
        entrypoint = _dockerfile_entrypoint()
    argv = entrypoint + _as_argv(service.get("command"))
    if not argv or Path(argv[0]).name != "kg":
        return None
    return argv[1:]


def _kg_commands() -> dict[str, Any]:
    # Duck-typed: recent typer builds on its own copy of click, so isinstance(click.Group) is no test.
    root: Any = typer.main.get_command(kg.cli.app)
    subcommands = getattr(root, "commands", None)
    if isinstance(subcommands, dict):
        return dict(subcommands)
    # typer collapses an app with a single command into that command
    return {root.name or "": root}


def _option_names(command: Any) -> set[str]:
    return {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):  # the `- KEY=value` form
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): str(v) for k, v in env.items()}


def _kg_services(services: dict[str, dict[str, Any]]) -> dict[str, list[str]]:
    found = {name: argv for name, svc in services.items() if (argv := _kg_argv(svc)) is not None}
    assert found, f"{COMPOSE_FILE}: no service runs kg"
    return found


def test_neo4j_is_5_26_community(services: dict[str, dict[str, Any]]) -> None:
    image = services["neo4j"]["image"]
    assert re.fullmatch(r"neo4j:5\.26(\.\d+)?-community", image), image


def test_kg_services_run_real_subcommands_and_options(services: dict[str, dict[str, Any]]) -> None:
    commands = _kg_commands()
    runs = _kg_services(services)
    assert {argv[0] for argv in runs.values() if argv} >= {"serve", "ingest"}
    for name, argv in runs.items():
        assert argv, f"service {name} runs kg without a subcommand"
        subcommand, *args = argv
        assert subcommand in commands, f"service {name}: `kg {subcommand}` is not a command of the CLI"
        command = commands[subcommand]
        # descend into command groups (`kg schema apply`)
        while args and isinstance(getattr(command, "commands", None), dict):
            assert args[0] in command.commands, f"service {name}: `kg {subcommand}` has no command {args[0]}"
            command = command.commands[args[0]]
            args = args[1:]
        known = _option_names(command)
        for arg in args:
            option = arg.split("=", 1)[0]
            if option.startswith("-"):
                assert option in known, f"service {name}: `kg {subcommand}` has no option {option}"


def test_image_runs_the_kg_cli() -> None:
    lines = DOCKERFILE.read_text(encoding="utf-8").splitlines()
    bases = [line.split()[1] for line in lines if line.startswith("FROM ")]
    assert bases and all(base.startswith("python:3.11-slim") for base in bases), bases
    assert _dockerfile_entrypoint() == ["kg"]


def test_neo4j_has_a_healthcheck_and_kg_waits_for_it(services: dict[str, dict[str, Any]]) -> None:
    check = services["neo4j"].get("healthcheck") or {}
    test = _as_argv(check.get("test"))
    assert test and test[0] in {"CMD", "CMD-SHELL"}, check
    assert any(tool in " ".join(test) for tool in ("cypher-shell", "wget", "curl")), test
    for name in _kg_services(services):
        depends = services[name].get("depends_on")
        assert isinstance(depends, dict), f"service {name}: depends_on must name a condition"
        assert depends.get("neo4j", {}).get("condition") == "service_healthy", name


def test_credentials_come_from_the_environment(services: dict[str, dict[str, Any]]) -> None:
    assert _environment(services["neo4j"])["NEO4J_AUTH"] == "neo4j/" + PASSWORD_FROM_ENV
    for name in _kg_services(services):
        env = _environment(services[name])
        assert env.get("NEO4J_PASSWORD") == PASSWORD_FROM_ENV, f"service {name}: {env.get('NEO4J_PASSWORD')}"
        assert env.get("NEO4J_URI", "").startswith("bolt://neo4j:"), f"service {name}: {env.get('NEO4J_URI')}"
    # The default may appear only as that fallback: nowhere else, healthcheck included.
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    assert text.count(LOCAL_DEFAULT_PASSWORD) == text.count(PASSWORD_FROM_ENV) >= 1
    for name, svc in services.items():
        for argv in (_as_argv(svc.get("command")), _as_argv((svc.get("healthcheck") or {}).get("test"))):
            words = [word for part in argv for word in shlex.split(part)]
            for flag, value in itertools.pairwise(words):
                if flag in {"-p", "--password"}:
                    assert value.startswith("$"), f"service {name}: literal password after {flag}"


def test_ports_bind_to_localhost(services: dict[str, dict[str, Any]]) -> None:
    published = [(name, str(p)) for name, svc in services.items() for p in svc.get("ports") or []]
    assert published, "no ports published"
    for name, port in published:
        assert port.startswith("127.0.0.1:"), f"service {name} publishes {port} beyond localhost"
    assert any(port.endswith(":8000") for name, port in published if name == "api")


def test_ingest_reads_the_vault_read_only(services: dict[str, dict[str, Any]]) -> None:
    runs = _kg_services(services)
    ingesters = [name for name, argv in runs.items() if argv[:1] == ["ingest"]]
    assert ingesters
    for name in ingesters:
        vault = runs[name][1]
        mounts = [str(v) for v in services[name].get("volumes") or []]
        assert any(m.split(":")[-2:] == [vault, "ro"] for m in mounts), f"service {name}: {mounts}"
        assert services[name].get("restart") == "unless-stopped"


def test_an_ingest_that_keeps_state_keeps_it_in_a_volume_it_can_write(
    compose: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    """`--keep-state` writes under KG_HOME (~/.kg of the image's user): a named volume there outlives
    the container, and the image creates the folder as that user, so the new volume is not root's."""
    runs = _kg_services(services)
    keeping = [name for name, argv in runs.items() if argv[:1] == ["ingest"] and "--keep-state" in argv]
    assert keeping
    lines = DOCKERFILE.read_text(encoding="utf-8").splitlines()
    at_user = next(i for i, line in enumerate(lines) if line.startswith("USER "))
    kg_home = f"/home/{lines[at_user].split()[1]}/.kg"
    assert any(line.startswith("RUN ") and f"mkdir -p {kg_home}" in line for line in lines[at_user:])
    for name in keeping:
        mounts = [str(v).split(":") for v in services[name].get("volumes") or []]
        named = [source for source, target, *_ in mounts if target == kg_home]
        assert named and named[0] in (compose.get("volumes") or {}), (name, mounts)

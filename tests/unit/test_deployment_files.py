"""docker-compose.yml and the Dockerfile, checked statically (no Docker engine here)."""

import re

import yaml

from tests.helpers import ROOT

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
DOCKERFILE = (ROOT / "Dockerfile").read_text()
NEWSDESK_IMAGE_SERVICES = ("newsdesk", "worker", "deploy")


def test_compose_has_the_three_services_with_healthchecks_and_a_worker_alternative():
    services = COMPOSE["services"]
    by_default = {name for name, service in services.items() if not service.get("profiles")}
    assert by_default == {"postgres", "prefect-server", "newsdesk"}
    workers = {name for name, service in services.items() if "workers" in service.get("profiles", [])}
    assert workers == {"worker", "deploy"}
    for name in ("postgres", "prefect-server"):
        assert services[name]["healthcheck"]["test"]
    for name in NEWSDESK_IMAGE_SERVICES:
        assert services[name]["depends_on"] == {
            "postgres": {"condition": "service_healthy"},
            "prefect-server": {"condition": "service_healthy"},
        }


def test_newsdesk_services_run_the_image_built_here():
    for name in NEWSDESK_IMAGE_SERVICES:
        service = COMPOSE["services"][name]
        assert service["build"] == "." and service["image"] == "newsdesk:latest", name
    assert COMPOSE["services"]["newsdesk"]["restart"] == COMPOSE["services"]["worker"]["restart"] == "unless-stopped"
    assert COMPOSE["services"]["deploy"]["restart"] == "no"


def test_prefect_image_matches_the_locked_prefect():
    locked = re.search(r"^prefect==(\S+)$", (ROOT / "requirements.lock").read_text(), re.M).group(1)
    assert COMPOSE["services"]["prefect-server"]["image"].startswith(f"prefecthq/prefect:{locked}-")


def test_connection_settings_come_from_the_environment():
    for name in NEWSDESK_IMAGE_SERVICES:
        env = COMPOSE["services"][name]["environment"]
        assert env["DATABASE_URL"].startswith("postgresql://")
        assert "${POSTGRES_PASSWORD" in env["DATABASE_URL"]
        assert env["PREFECT_API_URL"] == "http://prefect-server:4200/api"
    prefect_db = COMPOSE["services"]["prefect-server"]["environment"]["PREFECT_API_DATABASE_CONNECTION_URL"]
    assert prefect_db.endswith("/prefect") and "${POSTGRES_PASSWORD" in prefect_db
    assert "${POSTGRES_PASSWORD" in COMPOSE["services"]["postgres"]["environment"]["POSTGRES_PASSWORD"]


def test_the_prefect_server_knows_its_ui_address_for_the_alerts_links():
    """Without PREFECT_UI_URL the server renders `{{ flow_run|ui_url }}` as nothing."""
    ui = COMPOSE["services"]["prefect-server"]["environment"]["PREFECT_UI_URL"]
    published = COMPOSE["services"]["prefect-server"]["ports"][0].rsplit(":", 1)[-1]
    assert ui == f"${{PREFECT_UI_URL:-http://localhost:{published}}}"


def test_every_compose_variable_is_the_password_or_has_a_default():
    text = (ROOT / "docker-compose.yml").read_text()
    variables = re.findall(r"(?<!\$)\$\{([^}]*)\}", text)
    assert variables and not re.search(r"(?<![$])\$[A-Za-z_]", text)  # no bare $VAR: always ${...}
    for variable in variables:
        name = re.match(r"[A-Za-z_][A-Za-z0-9_]*", variable).group()
        if name == "POSTGRES_PASSWORD":
            assert variable.startswith("POSTGRES_PASSWORD:?"), variable
        else:
            assert variable.startswith(f"{name}:-"), f"${{{variable}}} has no default"


def test_compose_passes_the_serve_schedule_with_newsdesks_defaults():
    from newsdesk.flows.serve import DEFAULT_SCHEDULE, DEFAULT_TIMEZONE

    env = COMPOSE["services"]["newsdesk"]["environment"]
    assert env["NEWSDESK_SCHEDULE"] == f"${{NEWSDESK_SCHEDULE:-{DEFAULT_SCHEDULE}}}"
    assert env["NEWSDESK_TIMEZONE"] == f"${{NEWSDESK_TIMEZONE:-{DEFAULT_TIMEZONE}}}"


def test_worker_and_deploy_use_prefect_yamls_work_pool():
    pool = yaml.safe_load((ROOT / "prefect.yaml").read_text())["deployments"][0]["work_pool"]["name"]
    worker = COMPOSE["services"]["worker"]
    # The image's ENTRYPOINT is newsdesk: these two replace it.
    assert worker["entrypoint"] == ["prefect"]
    assert worker["command"] == ["worker", "start", "--pool", pool, "--type", "process"]
    deploy = COMPOSE["services"]["deploy"]
    assert deploy["entrypoint"] == ["sh", "-c"]
    [script] = deploy["command"]
    assert script.startswith(f"prefect work-pool create {pool} --type process --overwrite && ")
    assert script.endswith("prefect --no-prompt deploy --all")


def test_named_volume_and_init_script_exist():
    assert "newsdesk-postgres" in COMPOSE["volumes"]
    mounts = COMPOSE["services"]["postgres"]["volumes"]
    init = [m for m in mounts if m.endswith("/docker-entrypoint-initdb.d:ro")][0]
    assert (ROOT / init.split(":")[0]).is_dir()
    assert "CREATE DATABASE prefect" in (ROOT / "sql/docker-init/01-databases.sql").read_text()


def test_newsdesk_command_is_a_real_cli_command():
    from newsdesk.cli import main

    command = COMPOSE["services"]["newsdesk"]["command"]
    assert command[0] == "serve" and (ROOT / command[command.index("--sources") + 1]).is_file()
    try:
        main([*command[:1], "--help"])
    except SystemExit as exit:
        assert exit.code == 0


def _dockerfile_instructions() -> list[str]:
    """One line per instruction: continuations joined, comments dropped."""
    lines = [line for line in DOCKERFILE.splitlines() if not line.lstrip().startswith("#")]
    return [" ".join(i.split()) for i in "\n".join(lines).replace("\\\n", " ").splitlines() if i.strip()]


def test_dockerfile_installs_from_the_lock_file_and_bakes_no_secret():
    instructions = _dockerfile_instructions()
    assert "RUN pip install -r requirements.lock" in instructions
    assert "COPY requirements.lock ./" in instructions
    for instruction in instructions:
        if instruction.startswith(("ENV ", "ARG ")):
            assert not re.search(r"PASSWORD|DATABASE_URL|SECRET|TOKEN|API_KEY", instruction, re.I), instruction
    assert [i for i in instructions if i.startswith("ENTRYPOINT ")][-1] == 'ENTRYPOINT ["newsdesk"]'
    assert re.search(r"^FROM python:3\.11", DOCKERFILE, re.M)


def test_workers_in_the_image_find_the_code_where_it_is_copied():
    """prefect.yaml's pull step goes to $NEWSDESK_DIR; the image sets it to its WORKDIR."""
    instructions = _dockerfile_instructions()
    workdir = [i.split()[1] for i in instructions if i.startswith("WORKDIR ")][-1]
    assert f"ENV NEWSDESK_DIR={workdir}" in instructions
    pull = yaml.safe_load((ROOT / "prefect.yaml").read_text())["pull"]
    assert pull == [{"prefect.deployments.steps.set_working_directory": {"directory": "{{ $NEWSDESK_DIR }}"}}]

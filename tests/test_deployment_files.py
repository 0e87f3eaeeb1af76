"""docker-compose.yml and the Dockerfile, checked statically (no Docker engine here)."""

import re

import yaml

from conftest import ROOT

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def test_compose_has_the_three_services_with_healthchecks():
    services = COMPOSE["services"]
    assert set(services) == {"postgres", "prefect-server", "newsdesk"}
    for name in ("postgres", "prefect-server"):
        assert services[name]["healthcheck"]["test"]
    assert services["newsdesk"]["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "prefect-server": {"condition": "service_healthy"},
    }


def test_prefect_image_matches_the_locked_prefect():
    locked = re.search(r"^prefect==(\S+)$", (ROOT / "requirements.lock").read_text(), re.M).group(1)
    assert COMPOSE["services"]["prefect-server"]["image"].startswith(f"prefecthq/prefect:{locked}-")


def test_connection_settings_come_from_the_environment():
    env = COMPOSE["services"]["newsdesk"]["environment"]
    assert env["DATABASE_URL"].startswith("postgresql://")
    assert "${POSTGRES_PASSWORD" in env["DATABASE_URL"]
    assert env["PREFECT_API_URL"] == "http://prefect-server:4200/api"
    prefect_db = COMPOSE["services"]["prefect-server"]["environment"]["PREFECT_API_DATABASE_CONNECTION_URL"]
    assert prefect_db.endswith("/prefect") and "${POSTGRES_PASSWORD" in prefect_db
    assert "${POSTGRES_PASSWORD" in COMPOSE["services"]["postgres"]["environment"]["POSTGRES_PASSWORD"]


def test_named_volume_and_init_script_exist():
    assert "newsdesk-postgres" in COMPOSE["volumes"]
    mounts = COMPOSE["services"]["postgres"]["volumes"]
    init = [m for m in mounts if m.endswith("/docker-entrypoint-initdb.d:ro")][0]
    assert (ROOT / init.split(":")[0]).is_dir()
    assert "CREATE DATABASE prefect" in (ROOT / "sql/docker-init/01-databases.sql").read_text()


def test_newsdesk_command_is_a_real_cli_command():
    from newsdesk.cli import main

    command = COMPOSE["services"]["newsdesk"]["command"]
    assert command[0] == "ingest" and (ROOT / command[command.index("--sources") + 1]).is_file()
    try:
        main([*command[:1], "--help"])
    except SystemExit as exit:
        assert exit.code == 0


def test_dockerfile_installs_from_the_lock_file_and_bakes_no_secret():
    assert "pip install -r requirements.lock" in DOCKERFILE
    assert "COPY requirements.lock" in DOCKERFILE
    assert not re.search(r"^\s*(ENV|ARG)\b.*(PASSWORD|DATABASE_URL|SECRET)", DOCKERFILE, re.M | re.I)
    assert re.search(r'^ENTRYPOINT \["newsdesk"\]', DOCKERFILE, re.M)
    assert "python:3.11" in DOCKERFILE

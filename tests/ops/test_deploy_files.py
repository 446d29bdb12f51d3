"""deploy/: the Cloud Run service and migrate job are valid, production-shaped, set only what Flare reads."""

from __future__ import annotations

import re
from pathlib import Path
from string import Template
from typing import Any

import pytest
import yaml
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import QueuePool

from bot.catalog import load_catalog
from bot.db.engine import Database
from bot.settings import Settings
from handlers.cli import extra_config_problems
from handlers.cli import main as cli_main
from runbooks.loader import load_library
from tests.ops.helpers import ROOT

DEPLOY = ROOT / "deploy"
README = (DEPLOY / "README.md").read_text()
# What the README exports before `envsubst '$PROJECT_ID $REGION $FLARE_IMAGE $CLOUDSQL_INSTANCE'`.
SAMPLE = {
    "PROJECT_ID": "acme-flare",
    "REGION": "us-central1",
    "FLARE_IMAGE": "us-central1-docker.pkg.dev/acme-flare/flare/flare:v1.2.3",
    "CLOUDSQL_INSTANCE": "acme-flare:us-central1:flare-db",
}
# Variables a deploy file may set that are not Flare settings, and who reads them. Empty: every
# variable in deploy/ is either a Settings field or named by the catalog (`*_env`).
NON_FLARE: dict[str, str] = {}


def rendered(name: str) -> dict[str, Any]:
    """deploy/<name> after the README's envsubst, parsed."""
    text = (DEPLOY / name).read_text()
    placeholders = set(re.findall(r"\$\{?([A-Z_][A-Z0-9_]*)\}?", _without_comments(text)))
    assert placeholders <= set(SAMPLE), f"{name} uses placeholders the README does not export"
    data = yaml.safe_load(Template(text).substitute(SAMPLE))
    assert isinstance(data, dict)
    return data


def _without_comments(text: str) -> str:
    return "\n".join(
        line.split(" #", 1)[0] for line in text.splitlines() if not line.lstrip().startswith("#")
    )


def service() -> dict[str, Any]:
    """The rendered Knative service."""
    return rendered("service.yaml")


def job() -> dict[str, Any]:
    """The rendered migrate job."""
    return rendered("migrate-job.yaml")


def container(spec: dict[str, Any]) -> dict[str, Any]:
    """The one container of a pod spec."""
    [only] = spec["containers"]
    assert isinstance(only, dict)
    return only


def env_of(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """name -> env entry."""
    entries = container(spec).get("env", [])
    names = [e["name"] for e in entries]
    assert len(names) == len(set(names)), f"a variable set twice: {names}"
    return {e["name"]: e for e in entries}


def catalog_env_names() -> set[str]:
    """The variables deploy/flare.yaml names for webhook and deploy credentials."""
    catalog = load_catalog(DEPLOY / "flare.yaml")
    names = {catalog.deploys.token_env} if catalog.deploys.token_env else set()
    for source in type(catalog.webhooks).model_fields:
        auth = getattr(catalog.webhooks, source)
        if auth is not None:
            names |= {n for n in (auth.token_env, auth.password_env, auth.secret_env) if n}
    return names


def settings_names() -> set[str]:
    """Every Flare setting, as its environment variable."""
    return {name.upper() for name in Settings.model_fields}


def test_envsubst_in_the_readme_lists_exactly_the_placeholders() -> None:
    commands = re.findall(r"envsubst '([^']+)' < deploy/([\w.-]+)", README)
    assert {file for _, file in commands} == {"service.yaml", "migrate-job.yaml"}
    for variables, _file in commands:
        assert sorted(v.lstrip("$") for v in variables.split()) == sorted(SAMPLE)
    for name in SAMPLE:
        assert f"export {name}=" in README


def test_service_is_a_knative_service_with_always_on_cpu_and_one_warm_instance() -> None:
    svc = service()
    assert (svc["apiVersion"], svc["kind"], svc["metadata"]["name"]) == (
        "serving.knative.dev/v1",
        "Service",
        "flare",
    )
    annotations = svc["spec"]["template"]["metadata"]["annotations"]
    assert annotations["autoscaling.knative.dev/minScale"] == "1"
    assert annotations["run.googleapis.com/cpu-throttling"] == "false"
    assert annotations["run.googleapis.com/startup-cpu-boost"] == "true"
    assert annotations["run.googleapis.com/cloudsql-instances"] == SAMPLE["CLOUDSQL_INSTANCE"]
    max_scale = int(annotations["autoscaling.knative.dev/maxScale"])
    # The server's own PostgreSQL pool (as create_app builds it), times maxScale, plus the migrate
    # job's connection, must fit Cloud SQL's default max_connections of 100 (deploy/README.md).
    pool = Database("postgresql+asyncpg://flare@127.0.0.1/flare").engine.sync_engine.pool
    assert isinstance(pool, QueuePool)
    per_instance = pool.size() + pool._max_overflow
    assert per_instance == 15, "deploy/service.yaml and deploy/README.md say 15 connections per instance"
    assert max_scale * per_instance + 5 <= 100, f"maxScale {max_scale} x {per_instance} connections"
    assert all(isinstance(v, str) for v in annotations.values()), "Knative annotations are strings"
    assert svc["spec"]["traffic"] == [{"latestRevision": True, "percent": 100}]


def test_service_resources_concurrency_and_timeouts_fit_the_benchmarks() -> None:
    spec = service()["spec"]["template"]["spec"]
    assert 10 <= spec["containerConcurrency"] <= 80
    assert spec["timeoutSeconds"] <= 300
    limits = container(spec)["resources"]["limits"]
    memory = limits["memory"]
    assert memory.endswith("Mi")
    assert int(memory[:-2]) >= 256, "an alert storm needs up to 256 MB"
    assert float(limits["cpu"]) >= 1


def test_service_runs_as_a_dedicated_service_account() -> None:
    account = service()["spec"]["template"]["spec"]["serviceAccountName"]
    assert account == f"flare-runtime@{SAMPLE['PROJECT_ID']}.iam.gserviceaccount.com"
    assert "compute@developer" not in account
    assert job()["spec"]["template"]["spec"]["template"]["spec"]["serviceAccountName"] == account


def test_probes_use_the_health_endpoints_on_the_container_port() -> None:
    spec = service()["spec"]["template"]["spec"]
    main = container(spec)
    [port] = main["ports"]
    assert port["containerPort"] == 8080
    startup, liveness = main["startupProbe"], main["livenessProbe"]
    assert startup["httpGet"] == {"path": "/health/ready", "port": 8080}
    assert liveness["httpGet"] == {"path": "/health/live", "port": 8080}
    assert startup["periodSeconds"] * startup["failureThreshold"] <= 240, "Cloud Run allows 240 s to start"
    assert liveness["timeoutSeconds"] < liveness["periodSeconds"]


def test_every_secret_comes_from_secret_manager_with_a_pinned_version() -> None:
    for name, spec in (
        ("service.yaml", service()["spec"]["template"]["spec"]),
        ("migrate-job.yaml", job()["spec"]["template"]["spec"]["template"]["spec"]),
    ):
        for var, entry in env_of(spec).items():
            ref = entry.get("valueFrom", {}).get("secretKeyRef")
            if ref is not None:
                assert re.fullmatch(r"[1-9][0-9]*", str(ref["key"])), (
                    f"{name}: {var} uses version {ref['key']!r}"
                )
                assert ref["name"].startswith("flare-"), f"{name}: {var}"
        for volume in spec.get("volumes", []):
            for item in volume["secret"]["items"]:
                assert re.fullmatch(r"[1-9][0-9]*", str(item["key"])), f"{name}: volume {volume['name']}"
    env = env_of(service()["spec"]["template"]["spec"])
    secret_fields = {"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "DATABASE_URL", "METRICS_TOKEN"}
    secret_fields |= {"FLARE_API_TOKEN", "FLARE_TICK_TOKEN", "SENTRY_DSN"} | catalog_env_names()
    for var in secret_fields:
        assert var in env, f"{var} is not set"
        assert "value" not in env[var], f"{var} must come from Secret Manager, not a literal"
        assert "secretKeyRef" in env[var]["valueFrom"]


def test_env_vars_are_flare_settings_or_catalog_credentials_and_valid() -> None:
    known = settings_names() | catalog_env_names() | set(NON_FLARE)
    for name, spec in (
        ("service.yaml", service()["spec"]["template"]["spec"]),
        ("migrate-job.yaml", job()["spec"]["template"]["spec"]["template"]["spec"]),
    ):
        env = env_of(spec)
        assert sorted(set(env) - known) == [], f"{name} sets variables Flare does not read"
        assert "PORT" not in env, "Cloud Run sets PORT itself"
        literal = {
            k.lower(): e["value"]
            for k, e in env.items()
            if "value" in e and k.lower() in Settings.model_fields
        }
        settings = Settings(_env_file=None, **literal)  # type: ignore[arg-type]
        assert settings.flare_shutdown_timeout_seconds < 10, "Cloud Run sends SIGKILL 10 s after SIGTERM"
    env = env_of(service()["spec"]["template"]["spec"])
    assert env["FLARE_TICK_INTERVAL_SECONDS"]["value"] == "0", "Cloud Scheduler drives the tick"
    # Every credential the catalog names is set, or that webhook answers 503 in production.
    assert catalog_env_names() <= set(env)


def test_catalog_file_is_mounted_where_flare_config_points() -> None:
    spec = service()["spec"]["template"]["spec"]
    main = container(spec)
    config = env_of(spec)["FLARE_CONFIG"]["value"]
    [mount] = [m for m in main["volumeMounts"] if m["name"] == "catalog"]
    [volume] = [v for v in spec["volumes"] if v["name"] == "catalog"]
    [item] = volume["secret"]["items"]
    assert f"{mount['mountPath']}/{item['path']}" == config
    assert volume["secret"]["secretName"] == "flare-catalog"
    assert f"FLARE_CONFIG={config}" in (ROOT / "Dockerfile").read_text()


def test_production_catalog_template_passes_check_config() -> None:
    path = DEPLOY / "flare.yaml"
    catalog = load_catalog(path)
    assert extra_config_problems(catalog, path) == []
    assert catalog_env_names() == {"FLARE_ALERTMANAGER_TOKEN", "FLARE_DEPLOY_TOKEN"}


def test_migrate_job_runs_flare_migrate_with_the_service_database_and_image() -> None:
    data = job()
    assert (data["apiVersion"], data["kind"], data["metadata"]["name"]) == (
        "run.googleapis.com/v1",
        "Job",
        "flare-migrate",
    )
    template = data["spec"]["template"]
    assert (
        template["metadata"]["annotations"]["run.googleapis.com/cloudsql-instances"]
        == SAMPLE["CLOUDSQL_INSTANCE"]
    )
    spec = template["spec"]["template"]["spec"]
    main = container(spec)
    assert [*main["command"], *main["args"]] == ["flare", "migrate"]
    svc_spec = service()["spec"]["template"]["spec"]
    assert main["image"] == container(svc_spec)["image"] == SAMPLE["FLARE_IMAGE"]
    assert env_of(spec)["DATABASE_URL"] == env_of(svc_spec)["DATABASE_URL"]
    assert spec["maxRetries"] == 0


def test_readme_runs_the_migration_before_the_service_and_sets_up_the_tick() -> None:
    steps = [
        "gcloud run jobs replace /tmp/flare-migrate.yaml",
        'gcloud run jobs execute flare-migrate --region "$REGION" --wait',
        "gcloud run services replace /tmp/flare-service.yaml",
    ]
    positions = [README.index(step) for step in steps]
    assert positions == sorted(positions)
    upgrade = README[README.index("## Upgrading") :]
    assert upgrade.index("jobs execute flare-migrate") < upgrade.index("services replace")
    tick = README[README.index("gcloud scheduler jobs create http") :]
    assert "$FLARE_URL/tasks/tick" in tick
    assert "Authorization=Bearer" in tick
    assert "--http-method POST" in tick
    for role in (
        "roles/run.viewer",
        "roles/run.developer",
        "roles/iam.serviceAccountUser",
        "roles/cloudsql.client",
        "roles/secretmanager.secretAccessor",
    ):
        assert role in README, role
    for path in ("service.yaml", "migrate-job.yaml", "flare.yaml", "flare-rules.yml", "flare-dashboard.json"):
        assert path in README


@pytest.mark.parametrize("password", ["3f9a0c", ""])
def test_the_cloud_sql_database_url_is_accepted_and_reaches_the_unix_socket(password: str) -> None:
    [template] = re.findall(r'secret flare-database-url "([^"]+)"', README)
    url = template.replace("$DB_PASSWORD", password).replace(
        "$CLOUDSQL_INSTANCE", SAMPLE["CLOUDSQL_INSTANCE"]
    )
    settings = Settings(_env_file=None, database_url=url)  # type: ignore[call-arg]
    normalised = settings.database_url.get_secret_value()
    assert normalised.startswith("postgresql+asyncpg://flare")
    engine = create_async_engine(normalised)
    _args, kwargs = engine.dialect.create_connect_args(make_url(normalised))
    assert kwargs["host"] == f"/cloudsql/{SAMPLE['CLOUDSQL_INSTANCE']}"
    assert kwargs["database"] == "flare"
    if password:
        assert password in settings.secret_values(), "the password is scrubbed from logs"


def test_team_runbooks_load_from_the_service_layout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Lay out every secret volume as Cloud Run would, then load the catalog and runbooks from it."""
    spec = service()["spec"]["template"]["spec"]
    mounts = {m["name"]: m["mountPath"] for m in container(spec)["volumeMounts"]}
    assert len(set(mounts.values())) == len(mounts), "two volumes on one path hide each other"
    sources = {"flare-catalog": DEPLOY / "flare.yaml", "flare-runbooks": DEPLOY / "runbooks"}
    for volume in spec["volumes"]:
        folder = tmp_path / mounts[volume["name"]].lstrip("/")
        folder.mkdir(parents=True)
        [item] = volume["secret"]["items"]
        source = sources[volume["secret"]["secretName"]]
        source = source / item["path"] if source.is_dir() else source
        (folder / item["path"]).write_text(source.read_text())
    env = env_of(spec)
    runbook_dirs = [tmp_path / d.lstrip("/") for d in env["FLARE_RUNBOOKS_DIR"]["value"].split(":")]
    catalog_path = tmp_path / env["FLARE_CONFIG"]["value"].lstrip("/")
    assert not any(d.is_relative_to(catalog_path.parent) for d in runbook_dirs), "apart from the catalog"
    library = load_library(load_catalog(catalog_path), catalog_path, runbook_dirs)
    assert library.problems == []
    assert library.get("checkout-cache-flush") is not None, "the team's runbook from the secret volume"
    assert library.get("service-down") is not None, "built-in runbooks stay available"
    # flare check-config validates the mounted runbooks too.
    with pytest.MonkeyPatch.context() as env_vars:
        env_vars.setenv("FLARE_RUNBOOKS_DIR", ":".join(map(str, runbook_dirs)))
        assert cli_main(["check-config", str(catalog_path)]) == 0
        (runbook_dirs[0] / "broken.yaml").write_text("name: broken\nsteps:\n  - id: a\n    use: nope\n")
        assert cli_main(["check-config", str(catalog_path)]) == 1
    assert "broken.yaml:4: steps[0].use: unknown step 'nope'" in capsys.readouterr().out


def test_a_missing_runbooks_folder_is_a_config_problem(tmp_path: Path) -> None:
    catalog_path = tmp_path / "flare.yaml"
    catalog_path.write_text((DEPLOY / "flare.yaml").read_text())
    library = load_library(load_catalog(catalog_path), catalog_path, [tmp_path / "nowhere"])
    assert [p.problem for p in library.problems] == ["FLARE_RUNBOOKS_DIR names a folder that does not exist"]

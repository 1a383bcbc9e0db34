"""app_manifest.yml is a valid Slack app manifest and asks for exactly what the bot needs.

The schema is Slack's own (github.com/slackapi/manifest-schema), kept in the shared reference
folder. Its top-level file `$ref`s the versioned schemas by raw.githubusercontent.com URL; there is
no network here, so those URLs are served from the local copies through a `referencing` registry.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

REPO_ROOT = Path(__file__).resolve().parents[2]
MANIFEST_PATH = REPO_ROOT / "app_manifest.yml"
SCHEMA_DIR = REPO_ROOT.parent / "shared" / "reference" / "slack-manifest-schema"
TOP_SCHEMA = "manifest.schema.json"
VERSIONED_SCHEMAS = ("manifest.schema.1.0.0.json", "manifest.schema.2.0.0.json")

EXPECTED_BOT_SCOPES = {
    "commands",
    "app_mentions:read",  # @connect mentions: customer contacts of other organisations
    "chat:write",
    "channels:history",
    "groups:history",
    "files:read",  # recipient spreadsheets uploaded into an RFI thread
    "files:write",  # the onboarding report, shared as a file in its channel
    "users:read",  # roles (which organisation a person is in) and reminder time zones
    "pins:write",  # the onboarding's card is pinned in its channel
    "channels:read",  # member_joined_channel (the welcome); a channel archived, the bot removed
    "groups:read",  # the same for private channels
}
CHANNEL_EVENTS = {
    "channel_archive",
    "channel_unarchive",
    "channel_left",
    "group_archive",
    "group_unarchive",
    "group_left",
    "member_left_channel",
}
EXPECTED_BOT_EVENTS = {
    "app_mention",
    "message.channels",
    "message.groups",
    "member_joined_channel",
    *CHANNEL_EVENTS,
    "app_home_opened",  # the Home tab's overview (no scope of its own)
}
# What in bot/ needs each scope and each event: a scope or an event nothing uses is one too many
# (Slack shows every scope to whoever installs the app), and a listener without its event
# subscription never hears anything.
SCOPE_USED_BY = {
    "commands": r'@app\.command\("/connect"\)',
    "app_mentions:read": r'@app\.event\("app_mention"\)',
    "chat:write": r"\.chat_postMessage\(",
    "channels:history": r'@app\.event\("message"\)',
    "groups:history": r'@app\.event\("message"\)',
    "files:read": r"\.files_info\(",
    "files:write": r"\.files_upload_v2\(",
    "users:read": r"\.users_info\(",
    "channels:read": r'@app\.event\("channel_archive"\)',
    "groups:read": r'@app\.event\("group_archive"\)',
    "pins:write": r"\.pins_add\(",
}
EVENT_HEARD_BY = {
    "app_mention": r'@app\.event\("app_mention"\)',
    "message.channels": r'@app\.event\("message"\)',
    "message.groups": r'@app\.event\("message"\)',
    "member_joined_channel": r'@app\.event\("member_joined_channel"\)',
    **{event: rf'@app\.event\("{event}"\)' for event in CHANNEL_EVENTS},
    "app_home_opened": r'@app\.event\("app_home_opened"\)',
}


def _load_json(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as f:
        return json.load(f)


def _external_refs(node: Any) -> set[str]:
    """Every non-local `$ref` (one that does not start with '#') anywhere in a schema."""
    refs: set[str] = set()
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and not ref.startswith("#"):
            refs.add(ref)
        for value in node.values():
            refs |= _external_refs(value)
    elif isinstance(node, list):
        for value in node:
            refs |= _external_refs(value)
    return refs


@pytest.fixture(scope="module")
def schema_files() -> dict[str, dict[str, Any]]:
    if not SCHEMA_DIR.is_dir():
        pytest.fail(
            f"Slack manifest JSON Schema folder not found: {SCHEMA_DIR} "
            "(expected <repo root>/../shared/reference/slack-manifest-schema/)"
        )
    files = {}
    for name in (TOP_SCHEMA, *VERSIONED_SCHEMAS):
        path = SCHEMA_DIR / name
        if not path.is_file():
            pytest.fail(f"Slack manifest JSON Schema file missing: {path}")
        files[name] = _load_json(path)
    return files


@pytest.fixture(scope="module")
def validator(schema_files: dict[str, dict[str, Any]]) -> jsonschema.Draft7Validator:
    top = schema_files[TOP_SCHEMA]

    # Key each local file by its own $id (if any) and by every URL that refers to it. A remote
    # $ref is mapped to a local file by its last path segment (".../manifest.schema.2.0.0.json").
    uris: dict[str, set[str]] = {name: set() for name in schema_files}
    for name, contents in schema_files.items():
        if "$id" in contents:
            uris[name].add(contents["$id"])
    all_refs: set[str] = set()
    for contents in schema_files.values():
        all_refs |= _external_refs(contents)
    for ref in all_refs:
        url = ref.split("#", 1)[0]
        target = url.rsplit("/", 1)[-1]
        if target not in schema_files:
            pytest.fail(f"schema $ref {ref!r} points to no local file in {SCHEMA_DIR}")
        uris[target].add(url)

    # The versioned files carry no $id; each must be reachable through at least one ref.
    for name in VERSIONED_SCHEMAS:
        assert uris[name], f"{name} is not referenced by {TOP_SCHEMA}; the schema layout changed"

    registry: Registry = Registry()
    for name, contents in schema_files.items():
        resource = Resource.from_contents(contents, default_specification=DRAFT7)
        registry = registry.with_resources((uri, resource) for uri in sorted(uris[name]))
    registry = registry.crawl()

    jsonschema.Draft7Validator.check_schema(top)
    return jsonschema.Draft7Validator(top, registry=registry)


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    assert MANIFEST_PATH.is_file(), f"{MANIFEST_PATH} is missing"
    with MANIFEST_PATH.open(encoding="utf-8") as f:
        data = yaml.safe_load(f)
    assert isinstance(data, dict), "app_manifest.yml must be a YAML mapping"
    return data


def _errors(validator: jsonschema.Draft7Validator, instance: Any) -> list[str]:
    """Readable leaf errors ("path: message"); the top-level oneOf error itself says nothing.

    The oneOf branches that pick a schema version by `_metadata.major_version` also report (as
    "1 was expected" and the like); messages quoting the whole manifest are shortened.
    """

    def leaves(error: jsonschema.ValidationError) -> list[jsonschema.ValidationError]:
        if not error.context:
            return [error]
        return [leaf for sub in error.context for leaf in leaves(sub)]

    found = {
        f"{'/'.join(map(str, leaf.absolute_path)) or '<root>'}: {leaf.message[:200]}"
        for error in validator.iter_errors(instance)
        for leaf in leaves(error)
    }
    return sorted(found)


# --- schema validation --------------------------------------------------------------------------


def test_manifest_is_valid(validator: jsonschema.Draft7Validator, manifest: dict[str, Any]) -> None:
    assert _errors(validator, manifest) == []


def test_manifest_targets_schema_version_2(manifest: dict[str, Any]) -> None:
    assert manifest["_metadata"]["major_version"] == 1


def test_reference_example_is_valid(validator: jsonschema.Draft7Validator) -> None:
    """Positive control: Slack's own example manifest passes through the same validator."""
    example = _load_json(SCHEMA_DIR / "manifest.valid.json")
    assert _errors(validator, example) == []


DELETE = object()  # marker: remove the key instead of setting it


@pytest.mark.parametrize(
    ("path", "value"),
    [
        pytest.param(("features", "slash_commands", 0, "description"), DELETE, id="no-cmd-desc"),
        pytest.param(("features", "slash_commands", 0, "command"), "connect", id="no-slash"),
        pytest.param(("not_a_manifest_key",), True, id="unknown-top-level-key"),
        pytest.param(("settings", "socket_mode"), True, id="unknown-settings-key"),
        pytest.param(("settings", "socket_mode_enabled"), "yes", id="socket-mode-not-bool"),
        pytest.param(("settings", "interactivity", "is_enabled"), DELETE, id="no-is-enabled"),
        pytest.param(("display_information", "name"), "C" * 36, id="name-too-long"),
        pytest.param(("display_information", "long_description"), "Short.", id="long-desc-short"),
        pytest.param(("_metadata", "major_version"), 3, id="unknown-major-version"),
    ],
)
def test_broken_manifest_is_rejected(
    validator: jsonschema.Draft7Validator,
    manifest: dict[str, Any],
    path: tuple[str | int, ...],
    value: Any,
) -> None:
    """The validator really bites: each single breakage of the (valid) manifest is an error."""
    broken = copy.deepcopy(manifest)
    *parents, key = path
    target: Any = broken
    for part in parents:
        target = target[part]
    if value is DELETE:
        del target[key]
    else:
        target[key] = value
    assert _errors(validator, broken), f"schema accepted the manifest with {path} = {value!r}"


# --- content ------------------------------------------------------------------------------------


def test_connect_slash_command(manifest: dict[str, Any]) -> None:
    commands = {c["command"]: c for c in manifest["features"]["slash_commands"]}
    assert set(commands) == {"/connect"}
    connect = commands["/connect"]
    assert connect["description"].strip()
    assert "open" in connect["usage_hint"]
    # Escaped: `/connect invite @jane` arrives as <@U0JANE|jane>, a user id the bot can use.
    assert connect["should_escape"] is True


def test_bot_scopes_are_exactly_what_the_bot_needs(manifest: dict[str, Any]) -> None:
    scopes = manifest["oauth_config"]["scopes"]
    bot = scopes["bot"]
    assert len(bot) == len(set(bot)), f"duplicate bot scopes: {bot}"
    # Adding a scope is a deliberate decision: update EXPECTED_BOT_SCOPES and say why in the YAML.
    assert set(bot) == EXPECTED_BOT_SCOPES
    assert set(scopes) == {"bot"}, "the app asks for bot scopes only (no user scopes)"


def _bot_source() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in (REPO_ROOT / "bot").rglob("*.py"))


def test_every_scope_and_event_is_used_by_the_bot(manifest: dict[str, Any]) -> None:
    source = _bot_source()
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    events = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    assert set(SCOPE_USED_BY) == scopes, "say in SCOPE_USED_BY what needs each scope"
    assert set(EVENT_HEARD_BY) == events, "say in EVENT_HEARD_BY what hears each event"
    unused = [s for s, use in SCOPE_USED_BY.items() if not re.search(use, source)]
    unheard = [e for e, use in EVENT_HEARD_BY.items() if not re.search(use, source)]
    assert (unused, unheard) == ([], [])


def test_socket_mode_and_message_events(manifest: dict[str, Any]) -> None:
    settings = manifest["settings"]
    assert settings["socket_mode_enabled"] is True
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["org_deploy_enabled"] is False
    assert set(settings["event_subscriptions"]["bot_events"]) == EXPECTED_BOT_EVENTS


def test_app_home_and_bot_user(manifest: dict[str, Any]) -> None:
    features = manifest["features"]
    assert features["app_home"] == {
        "home_tab_enabled": True,
        "messages_tab_enabled": True,
        "messages_tab_read_only_enabled": True,
    }
    assert features["bot_user"] == {"display_name": "connect", "always_online": True}
    # The Home tab is published by the bot (views.publish), and heard opened.
    assert re.search(r"\.views_publish\(", _bot_source())
    info = manifest["display_information"]
    assert info["name"] == "Connect"
    # The schema spells this constraint "regex", which JSON Schema ignores; check it here.
    assert re.fullmatch(r"#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?", info["background_color"])

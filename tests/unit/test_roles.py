"""The role table (salon.roles) is the one list of provider roles: it matches the registration
hooks and Protocols, names settings and contract suites that exist, and the CLI, the scaffold
and build_runtime follow it (selection, and errors naming the plugin and the hook)."""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import msgspec
import pytest
import salon.roles
import salon.testing
from salon import hookimpl, hookspecs, providers
from salon.cli import new_plugin
from salon.errors import ConfigurationError, PluginError
from salon.roles import ROLES, Selection, by_name, kinds
from salon.runtime import build_runtime, load_settings
from salon.scaffold import CONTRACT_BODIES, KINDS, SKELETONS
from salon.settings import CoreSettings


def _factory_protocols(alias: object) -> tuple[type, ...] | None:
    """For ``Callable[[str, Callable[[ProviderContext], P]], None]``: P's members; else None."""
    args = typing.get_args(alias)
    if len(args) != 2 or not isinstance(args[0], list) or len(args[0]) != 2:
        return None
    factory = args[0][1]
    factory_args = typing.get_args(factory)
    if typing.get_origin(factory) is None or factory_args[:1] != ([providers.ProviderContext],):
        return None
    returned = factory_args[1]
    if isinstance(returned, types.UnionType):
        return typing.get_args(returned)
    return (returned,)


def _provider_hooks() -> dict[str, tuple[type, ...]]:
    """Every registration hook whose ``register`` takes provider factories, and what they make."""
    found: dict[str, tuple[type, ...]] = {}
    for name, function in vars(hookspecs).items():
        if not inspect.isfunction(function) or not hasattr(function, "salon_spec"):
            continue
        register = inspect.signature(function).parameters.get("register")
        if register is None:
            continue
        protocols = _factory_protocols(getattr(providers, str(register.annotation)))
        if protocols is not None:
            found[name] = protocols
    return found


def test_every_provider_hook_is_a_role_and_every_role_a_provider_hook() -> None:
    hooks = _provider_hooks()
    assert "register_storage_backends" in hooks  # the walk above finds what it should
    table = {role.hook: role.protocols for role in ROLES}
    assert set(table) == set(hooks), "salon.roles.ROLES and the register_* hooks differ"
    for hook, protocols in hooks.items():
        assert set(table[hook]) == set(protocols), f"{hook}: Protocols differ from the table"


def test_every_factory_registration_type_belongs_to_a_role() -> None:
    """A ``Register*`` callback type for provider factories in salon.providers (a new kind of
    provider) makes Protocols that some role of the table has."""
    names = [name for name in vars(providers) if name.startswith("Register")]
    aliases = {name: _factory_protocols(getattr(providers, name)) for name in names}
    made = {name: protocols for name, protocols in aliases.items() if protocols is not None}
    assert "RegisterStorageBackend" in made
    in_table = {protocol for role in ROLES for protocol in role.protocols}
    for name, protocols in made.items():
        assert set(protocols) <= in_table, f"{name} registers {protocols}: not in salon.roles"


def test_role_names_are_unique_and_found_by_name() -> None:
    names = [role.name for role in ROLES]
    assert len(set(names)) == len(names)
    assert all(by_name(name).name == name for name in names)
    with pytest.raises(KeyError):
        by_name("nope")


def test_each_setting_is_a_core_setting_and_selects_its_role() -> None:
    fields = dict(zip(CoreSettings.__struct_fields__, msgspec.structs.fields(CoreSettings)))
    for role in ROLES:
        if role.selection in (Selection.ONE, Selection.STACK):
            assert role.setting in fields, f"{role.name}: CoreSettings has no {role.setting}"
            assert role.variable == f"SALON_{role.setting.upper()}"
        else:
            assert role.setting is None and role.selected(CoreSettings()) is None
    core = CoreSettings(storage="s3", media="pillow, avif_phash")
    assert by_name("storage").selected(core) == ("s3",)
    assert by_name("media").selected(core) == ("pillow", "avif_phash")


def test_every_contract_suite_is_in_the_table_and_every_named_one_exists() -> None:
    named = {kind.contract for _role, kind in kinds().values()}
    suites = {name for name in salon.testing.__all__ if name.endswith("Contract")}
    assert named == suites
    for name in named:
        assert inspect.isclass(getattr(salon.testing, str(name)))


def test_scaffold_kinds_and_the_cli_choices_follow_the_table() -> None:
    assert list(KINDS) == list(kinds()) == list(SKELETONS)
    assert sorted(CONTRACT_BODIES) == sorted(KINDS)
    for name, (role, kind) in kinds().items():
        assert KINDS[name].hook == role.hook
        assert KINDS[name].protocol is kind.protocol
        assert KINDS[name].selector == role.variable
    kind_option = next(p for p in new_plugin.params if p.name == "kind")
    assert isinstance(kind_option.type, click.Choice)
    assert list(kind_option.type.choices) == list(KINDS)


SELECTED_BY = {
    Selection.ONE: "`{variable}` (one)",
    Selection.STACK: "`{variable}` (several, in order)",
    Selection.EVERY: "every one registered",
    Selection.CHAIN: "every one registered, asked in hook order",
}


def test_the_guide_lists_the_roles_of_the_table() -> None:
    guide = (Path(__file__).parents[2] / "docs" / "plugins.md").read_text()
    rows = [line for line in guide.splitlines() if line.startswith("| ") and "register_" in line]
    expected = []
    for role in ROLES:
        kinds_ = (role.kind(), *role.variants)
        contracts = ", ".join(f"`{k.contract}`" for k in kinds_ if k.contract) or "none yet"
        cells = [
            role.name,
            f"`{role.hook}`",
            ", ".join(f"`{k.protocol.__name__}`" for k in kinds_),
            SELECTED_BY[role.selection].format(variable=role.variable),
            contracts,
        ]
        expected.append("| " + " | ".join(cells) + " |")
    assert [row for row in rows if row.count("|") == 6] == expected


# ---------------------------------------------------------------- build_runtime's selection


def _plugin(hook: str, factory: Callable[[Any], Any], name: str = "mine") -> object:
    """A plugin offering one provider ``name`` through ``hook``."""

    def register_impl(_self: object, register: Any) -> None:
        register(name, factory)

    members = {"__name__": f"{name}-plugin", hook: hookimpl(specname=hook)(register_impl)}
    return type("OnePlugin", (), members)()


def _build(tmp_path: Path, plugin: object, **env: str) -> Any:
    settings, pm, registry = load_settings(
        {"SALON_DATA_DIR": str(tmp_path), **env}, extra_plugins=[plugin]
    )
    return build_runtime(settings, pm, registry)


def _raises(exc: Exception) -> Callable[[Any], Any]:
    def factory(_context: Any) -> Any:
        raise exc

    return factory


@pytest.mark.parametrize(
    "role", [r for r in ROLES if r.selection is not Selection.EVERY], ids=lambda r: r.name
)
def test_a_factory_that_raises_names_the_plugin_and_the_hook(tmp_path: Path, role: Any) -> None:
    env = {role.variable: "mine"} if role.variable else {}
    if role.selection is Selection.STACK:
        env = {role.variable: "pillow,mine"}
    plugin = _plugin(role.hook, _raises(RuntimeError("boom")))
    with pytest.raises(PluginError) as info:
        _build(tmp_path, plugin, **env)
    assert (info.value.plugin, info.value.hook) == ("mine-plugin", role.hook)
    assert "factory 'mine' raised RuntimeError('boom')" in str(info.value)


def test_a_configuration_error_names_the_provider_and_plugin(tmp_path: Path) -> None:
    plugin = _plugin("register_storage_backends", _raises(ConfigurationError("bad bucket")))
    with pytest.raises(ConfigurationError) as info:
        _build(tmp_path, plugin, SALON_STORAGE="mine")
    assert str(info.value) == "storage provider 'mine' (plugin mine-plugin): bad bucket"


async def test_a_source_that_cannot_start_is_left_out(tmp_path: Path) -> None:
    plugin = _plugin("register_image_sources", _raises(RuntimeError("down")))
    runtime = _build(tmp_path, plugin)
    try:
        assert "mine" not in runtime.sources
        assert runtime.registry.names("source").count("mine") == 1
    finally:
        await runtime.close()


class _Mail:
    """The least a MailSender has."""

    async def send(self, message: providers.MailMessage) -> None:
        pass

    async def check(self) -> None:
        pass


@pytest.mark.parametrize(
    "role", [r for r in ROLES if r.selection is not Selection.EVERY], ids=lambda r: r.name
)
def test_a_factory_returning_the_wrong_type_names_the_plugin_and_the_hook(
    tmp_path: Path, role: Any
) -> None:
    env = {role.variable: "mine"} if role.variable else {}
    if role.selection is Selection.STACK:
        env = {role.variable: "pillow,mine"}
    with pytest.raises(PluginError) as info:
        _build(tmp_path, _plugin(role.hook, lambda _c: object()), **env)
    assert (info.value.plugin, info.value.hook) == ("mine-plugin", role.hook)
    wanted = " or ".join(protocol.__name__ for protocol in role.protocols)
    assert f"factory 'mine' returned object, which is not a {wanted}" in str(info.value)
    assert "missing ?" not in str(info.value)  # it names what the object lacks


async def test_a_source_of_the_wrong_type_is_left_out(tmp_path: Path) -> None:
    runtime = _build(tmp_path, _plugin("register_image_sources", lambda _c: _Mail()))
    try:
        assert "mine" not in runtime.sources
        assert runtime.registry.names("source").count("mine") == 1
    finally:
        await runtime.close()


def test_each_role_is_declared_with_the_protocols_it_checks() -> None:
    """``STORAGE: Final[Role[StorageBackend]]``: the type mypy gives what a role builds is the
    one its factories' results are checked against at run time."""
    hints = typing.get_type_hints(salon.roles)
    for name, value in vars(salon.roles).items():
        if isinstance(value, salon.roles.Role):
            (declared,) = typing.get_args(typing.get_args(hints[name])[0])
            protocols = typing.get_args(declared) or (declared,)
            assert protocols == value.protocols, name


async def test_the_selected_provider_is_the_one_built(tmp_path: Path) -> None:
    made = _Mail()
    runtime = _build(tmp_path, _plugin("register_mail_senders", lambda _c: made), SALON_MAIL="mine")
    try:
        assert runtime.mail is made
    finally:
        await runtime.close()

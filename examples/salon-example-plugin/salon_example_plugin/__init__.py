"""salon-example-plugin: a complete third-party Salon plugin, laid out as a published package.

It offers, through the entry point ``example`` in group ``salon``:

- the storage backend ``sharded`` (:class:`ShardedStorage`): select it with
  ``SALON_STORAGE=sharded``;
- the image source ``swatches`` (:class:`SwatchSource`), listed by ``GET /api/sources``;
- its settings under ``SALON_EXAMPLE_*`` (:class:`ExampleSettings`).

The hook implementations below are the plugin's whole contact with the core; everything else
goes through the Protocols in :mod:`salon.providers`.
"""

from __future__ import annotations

from salon import hookimpl
from salon.providers import RegisterImageSource, RegisterSettings, RegisterStorageBackend

from salon_example_plugin.settings import ExampleSettings
from salon_example_plugin.source import SwatchSource
from salon_example_plugin.storage import ShardedStorage

__all__ = ["ExampleSettings", "ShardedStorage", "SwatchSource"]
__version__ = "0.1.0"


@hookimpl
def register_settings(register: RegisterSettings) -> None:
    register("EXAMPLE", ExampleSettings)


@hookimpl
def register_storage_backends(register: RegisterStorageBackend) -> None:
    register("sharded", ShardedStorage.from_context)


@hookimpl
def register_image_sources(register: RegisterImageSource) -> None:
    register("swatches", SwatchSource.from_context)

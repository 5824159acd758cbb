"""salon-folder-source: an image source with its own page, laid out as a published package.

It offers, through the entry point ``folder_source`` in group ``salon``:

- the image source ``folder`` (:class:`FolderSource`): the photos in a folder on the server,
  browsed a page at a time (``GET /api/sources/folder/entries``, next page in
  ``X-Next-Cursor``) and imported into the gallery (``POST /api/sources/folder/import``);
- the page ``/folder`` with its entry "Folder" in the main navigation, to browse and import;
- its settings under ``SALON_FOLDER_SOURCE_*`` (:class:`FolderSourceSettings`).

``SALON_DISABLE_PLUGINS=folder_source`` takes all three away.
"""

from __future__ import annotations

from pathlib import Path

from salon import hookimpl
from salon.providers import (
    PageSpec,
    PluginFiles,
    RegisterImageSource,
    RegisterPages,
    RegisterSettings,
)

from salon_folder_source.settings import FolderSourceSettings
from salon_folder_source.source import FolderSource

__all__ = ["FolderSource", "FolderSourceSettings"]
__version__ = "0.1.0"

HERE = Path(__file__).parent


@hookimpl
def register_settings(register: RegisterSettings) -> None:
    register("FOLDER_SOURCE", FolderSourceSettings)


@hookimpl
def register_image_sources(register: RegisterImageSource) -> None:
    register("folder", FolderSource.from_context)


@hookimpl
def register_pages(register: RegisterPages) -> None:
    register(PluginFiles(templates=HERE / "templates", static=HERE / "static"))
    register(
        PageSpec(
            "/folder",
            "folder.html",
            "Photo folder",
            nav_label="Folder",
            nav_order=55,
            scripts=["folder.js"],
            styles=["folder.css"],
        )
    )

"""Services speak in domain errors (salon.errors), never in HTTP types: no domain service
module imports Litestar, and salon.app maps each refusal to its status in one table."""

from __future__ import annotations

from pathlib import Path

import pytest
from salon import errors
from salon.app import REFUSAL_STATUS
from salon.domain.albums.services import AlbumExists
from salon.domain.uploads.services import UploadExpired, UploadInProgress, UploadRefused

DOMAIN = Path(errors.__file__).parent / "domain"


def test_no_service_module_imports_litestar() -> None:
    services = [*DOMAIN.glob("*/services.py"), DOMAIN / "images" / "quota.py"]
    assert len(services) >= 8
    offenders = [p.relative_to(DOMAIN) for p in services if "litestar" in p.read_text()]
    assert offenders == []


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (errors.RequestRefused("x"), 400),
        (UploadRefused("x"), 400),
        (AlbumExists("x"), 409),
        (UploadInProgress("x"), 409),
        (UploadExpired("x"), 410),
        (errors.QuotaExceeded("x"), 413),
    ],
)
def test_each_refusal_has_its_status(error: errors.RequestRefused, status: int) -> None:
    assert next(code for kind, code in REFUSAL_STATUS if isinstance(error, kind)) == status
    assert isinstance(error, errors.SalonError)

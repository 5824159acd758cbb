#!/usr/bin/env bash
# Optional, for working on PostgreSQL tests outside `make test` (which runs a cluster of its
# own): start Debian's PostgreSQL 15, make the role the suite uses, and write .ci/postgres.env.
set -euo pipefail
pg_ctlcluster --skip-systemctl-redirect 15 main start 2>/dev/null || true
for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 && break; sleep 1; done
su postgres -c "psql -q -v ON_ERROR_STOP=1" <<'SQL'
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'salon') THEN
    CREATE ROLE salon LOGIN CREATEDB PASSWORD 'salon';
  END IF;
END $$;
GRANT CREATE ON DATABASE postgres TO salon;
SQL
echo "SALON_TEST_POSTGRES_URL=postgresql+asyncpg://salon:salon@127.0.0.1:5432/postgres" > .ci/postgres.env

"""``python -m salon_htpasswd_auth USER < password-file``: print a ``user:hash`` line."""

from __future__ import annotations

import sys

from salon_htpasswd_auth.authenticator import hash_password


def main() -> int:
    if len(sys.argv) != 2 or ":" in sys.argv[1]:
        print("usage: python -m salon_htpasswd_auth USER < password-file", file=sys.stderr)
        return 2
    password = sys.stdin.readline().rstrip("\n")
    if not password:
        print("no password on stdin", file=sys.stderr)
        return 2
    print(f"{sys.argv[1]}:{hash_password(password)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

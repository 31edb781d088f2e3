"""Shared by the connector tests and the bench: a user of the mock world signed in through the
real authorization-code flow, and the sync connector of each protocol built on the reference
providers' clients and credentials. The code lives in `harness.load.signin` (the load scenarios
use it too); this module keeps the tests' import path."""

from __future__ import annotations

from harness.load.signin import Kind, SignedIn, sign_in, sign_in_user, user_of

__all__ = ["Kind", "SignedIn", "sign_in", "sign_in_user", "user_of"]

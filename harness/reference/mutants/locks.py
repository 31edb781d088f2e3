"""Settings, locks at each level and who may change them (ADMIN-02/04, LOCK-01/02/03/05/06)."""

from dataclasses import replace

from harness.reference.mutants.core import mutant
from harness.reference.policy import resolution as r

R = "harness.reference.policy.resolution"
C = "harness.reference.policy.changes"
K = "harness.reference.policy.conformance"
ROLES = "harness.reference.policy.roles"


def _without_locks(state, drop_account: bool, drop_groups: bool):
    account = replace(state.account, locks=frozenset()) if drop_account else state.account
    groups = {k: replace(g, locks=frozenset()) for k, g in state.groups.items()} \
        if drop_groups else state.groups
    return replace(state, account=account, groups=groups)


def _resolve_ignoring(drop_account: bool, drop_groups: bool):
    original = r.resolve_setting

    def resolve_setting(state, name, *, group=None, user=None):
        return original(_without_locks(state, drop_account, drop_groups), name, group=group,
                        user=user)
    return resolve_setting


def _skip_compared(skipped: str):
    def locked_differences(facts, policy):
        trimmed = {k: v for k, v in policy.items() if k != skipped}
        return _ORIG_DIFF(facts, trimmed)
    return locked_differences


from harness.reference.policy import conformance as _conformance  # noqa: E402

_ORIG_DIFF = _conformance._locked_differences


def _no_account_lock_check(original):
    def setting_refusal(state, request, name):
        refusal = original(state, request, name)
        if refusal is not None and refusal.code == "locked_at_account" and \
                request.level == "group":
            return None
        return refusal
    return setting_refusal


def _no_group_lock_check(original):
    def setting_refusal(state, request, name):
        refusal = original(state, request, name)
        return None if refusal is not None and refusal.code == "locked_by_group" else refusal
    return setting_refusal


MUTANTS = [
    mutant("lock-account-not-enforced", ("ADMIN-02", "LOCK-01", "LOCK-02", "LOCK-03"),
           "an account-level lock no longer forces the account's value on groups and users",
           (f"{R}:resolve_setting", lambda _: _resolve_ignoring(True, False))),
    # A group lock is a lock (LOCK-01..03 at group level) and MAPI counts only when locked.
    mutant("lock-group-not-enforced", ("LOCK-06", "LOCK-01", "LOCK-02", "MAPI-02"),
           "a group-level lock no longer makes the group's value mandatory for its users",
           (f"{R}:resolve_setting", lambda _: _resolve_ignoring(False, True))),
    mutant("lock-greyed-group-editable", "LOCK-05",
           "a group option greyed out by an account lock can be changed at group level",
           (f"{C}:_setting_refusal", _no_account_lock_check)),
    mutant("lock-group-user-override", "LOCK-06",
           "a user may override a setting their group locked",
           (f"{C}:_setting_refusal", _no_group_lock_check)),
    # Kept access is also no prompt (LOCK-03), and the lock is not forced on them at either
    # level (LOCK-01, LOCK-06).
    mutant("lock-permission-difference-kept", ("LOCK-02", "LOCK-01", "LOCK-03", "LOCK-06"),
           "after a calendar-permission lock, users with another permission level keep access",
           (f"{K}:_locked_differences", lambda _: _skip_compared("calendar_permission"))),
    mutant("lock-contacts-permission-difference-kept", "LOCK-02",
           "after a contacts-permission lock, users with another permission level keep access",
           (f"{K}:_locked_differences", lambda _: _skip_compared("contacts_permission"))),
    mutant("lock-service-difference-kept", ("LOCK-01", "LOCK-03", "LOCK-06"),
           "after the default service is locked, integrations with another service stay as they "
           "are and nobody is prompted",
           (f"{K}:_locked_differences", lambda _: _skip_compared("default_calendar_service"))),
    mutant("roles-member-is-admin", "ADMIN-04",
           "any member of the account counts as an admin for the integration settings",
           (f"{ROLES}:is_admin", lambda _: lambda role: role is not None)),
    mutant("roles-user-changes-others", "ADMIN-04",
           "a user may change another user's settings",
           (f"{ROLES}:may_change", lambda orig: lambda level, actor, role, target: orig(
               level, actor, role, actor if level == "user" else target))),
]

"""Settings and policy: the account and its users, settings at account, group and user level
with locks and roles, groups, the audit trail. The rules are the pure functions of `policy/`;
this module loads the levels from the store, asks the rules and saves the outcome. The other
parts look up a user's membership and the settings in effect for them here."""

from __future__ import annotations

import json
from functools import partial
from typing import Any

from sqlalchemy.orm import Session

from harness.api.errors import DriverError
from harness.api.models import (
    AccountSettings,
    AccountSpec,
    EffectiveSetting,
    EffectiveSettings,
    GroupInfo,
    PolicyChange,
    PolicyChangeResult,
    PolicyTarget,
    PolicyView,
    SettingAuditEntry,
    SettingsChangeResult,
)
from harness.reference import policy
from harness.reference.policy.entra_roles import SSO_FEATURES, sso_admin_refusal
from harness.reference.policy.resolution import values_of
from harness.reference.policy.rules import ews_permission_refusal, service_notices
from harness.reference.service import convert
from harness.reference.service.context import Context
from harness.reference.store import AccountRow, GroupRow, MemberRow, TenantConsentRow


class Settings:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def setup_account(self, spec: AccountSpec) -> None:
        self.ctx.store.reset()
        with self.ctx.store.session() as s:
            s.add(AccountRow(id=1, owner=spec.owner.lower(),
                             settings=AccountSettings().model_dump(), locks=[]))
            s.add(MemberRow(email=spec.owner.lower(), role="owner", settings={}))
            for admin in spec.admins:
                s.merge(MemberRow(email=admin.lower(), role="admin", settings={}))
            for member in spec.members:
                if s.get(MemberRow, member.lower()) is None:
                    s.add(MemberRow(email=member.lower(), role="member", settings={}))

    def settings(self) -> AccountSettings:
        with self.ctx.store.session() as s:
            return AccountSettings.model_validate(self.account(s).settings)

    # -- lookups the other parts share ----------------------------------------------------------
    def account(self, s: Session) -> AccountRow:
        account = self.ctx.store.account(s)
        if account is None:
            raise DriverError("no_account", "the account has not been set up")
        return account

    def state(self, s: Session) -> policy.PolicyState:
        """The whole account's policy: account, every group and every user."""
        return convert.levels(self.account(s), self.ctx.store.members(s), self.ctx.store.groups(s))

    def resolved(self, s: Session, user: str) -> dict[str, policy.Resolved]:
        """The settings in effect for one user. Loads only the account, the user and their
        group: this runs on every sync round, so it must not grow with the account's size."""
        member = s.get(MemberRow, user.lower())
        group = s.get(GroupRow, member.group) if member is not None and member.group else None
        state = convert.levels(self.account(s), [member] if member is not None else [],
                               [group] if group is not None else [])
        return policy.resolve_all(state, user=user)

    def member(self, s: Session, user: str) -> MemberRow:
        member = s.get(MemberRow, user.lower())
        if member is None:
            raise DriverError("not_a_member", f"{user} is not a user of this account")
        return member

    # -- changing the policy -------------------------------------------------------------------
    def _save_level(self, s: Session, level: str, target: str | None,
                    new: policy.LevelState) -> None:
        if level == "account":
            account = self.account(s)
            account.settings, account.locks = dict(new.values), sorted(new.locks)
        elif level == "group":
            group = s.get(GroupRow, target)
            assert group is not None
            group.settings, group.locks = dict(new.values), sorted(new.locks)
        else:
            self.member(s, target or "").settings = dict(new.values)

    def _change(self, actor: str, target: PolicyTarget, change: PolicyChange
                ) -> policy.Refusal | None:
        """One all-or-nothing policy change, saved with its audit entries, or a refusal that
        touched nothing."""
        with self.ctx.store.session() as s:
            state = self.state(s)
            request = policy.ChangeRequest(
                actor=actor, role=self.ctx.store.role_of(s, actor), level=target.level,
                target=target.name, values=dict(change.values), inherit=tuple(change.inherit),
                lock=dict(change.lock))
            consented = s.query(TenantConsentRow).first() is not None
            outcome = policy.apply_change(state, request, partial(
                policy.validate_settings, company_consent=consented))
            if isinstance(outcome, policy.Refusal):
                return outcome
            refusal = self._sso_admin_refusal(s, actor, outcome.changes)
            if refusal is not None:
                return refusal
            if target.level in ("account", "group"):
                before = values_of(policy.resolve_all(state, group=target.name))
                after = values_of(policy.resolve_all(outcome.state, group=target.name))
                refusal = ews_permission_refusal(before, after)
                if refusal is not None:
                    return refusal
            name = target.name.lower() if target.level == "user" and target.name else \
                target.name
            level_state = outcome.state.level(target.level, name)
            assert level_state is not None
            self._save_level(s, target.level, name, level_state)
            for c in outcome.changes:
                self.ctx.store.audit_setting(s, actor, c.setting, c.old, c.new, level=c.level,
                                             target=c.target, kind=c.kind)
        return None

    def _sso_admin_refusal(self, s: Session, actor: str,
                           changes: tuple[policy.AuditChange, ...]) -> policy.Refusal | None:
        """SSO-05, checked after the role, locks and prerequisites so those refusals come
        first: only a known Office 365 admin switches the SSO integration on."""
        switched_on = {c.setting for c in changes if c.kind == "value"
                       and c.setting in SSO_FEATURES
                       and c.new not in (SSO_FEATURES[c.setting], policy.INHERITED)}
        member = s.get(MemberRow, actor.lower())
        return sso_admin_refusal(actor, switched_on,
                                 member.office365_admin if member is not None else None)

    def change_settings(self, actor: str, changes: dict[str, Any]) -> SettingsChangeResult:
        refusal = self._change(actor, PolicyTarget.account(), PolicyChange(values=changes))
        settings = self.settings()
        if refusal is not None:
            return SettingsChangeResult(accepted=False, settings=settings,
                                        reason=refusal.message, code=refusal.code)
        return SettingsChangeResult(accepted=True, settings=settings,
                                    notices=service_notices(settings.model_dump()))

    def change_policy(self, actor: str, target: PolicyTarget,
                      change: PolicyChange) -> PolicyChangeResult:
        refusal = self._change(actor, target, change)
        try:
            view = self.get_policy(target)
        except DriverError:  # the target does not exist: show the account, unchanged
            view = self.get_policy(PolicyTarget.account())
        if refusal is not None:
            return PolicyChangeResult(accepted=False, view=view, code=refusal.code,
                                      reason=refusal.message)
        return PolicyChangeResult(accepted=True, view=view)

    def get_policy(self, target: PolicyTarget) -> PolicyView:
        with self.ctx.store.session() as s:
            state = self.state(s)
            name = target.name.lower() if target.level == "user" and target.name else \
                target.name
            level = state.level(target.level, name)
            if level is None:
                code = "no_such_group" if target.level == "group" else "not_a_member"
                raise DriverError(code, f"there is no {target.level} {target.name!r} in this "
                                        "account")
            if target.level == "account":
                effective = {**policy.DEFAULTS, **state.account.values}
            elif target.level == "group":
                effective = values_of(policy.resolve_all(state, group=name))
            else:
                effective = values_of(policy.resolve_all(state, user=name))
            return PolicyView(target=target, values=dict(level.values),
                              locked=sorted(level.locks),
                              locked_above=policy.locked_above(state, target.level, name),
                              effective=AccountSettings.model_validate(effective))

    def effective_settings(self, user: str) -> EffectiveSettings:
        with self.ctx.store.session() as s:
            member = self.member(s, user)
            resolved = self.resolved(s, user)
        return EffectiveSettings(
            user=member.email, group=member.group,
            settings=AccountSettings.model_validate(values_of(resolved)),
            details={name: EffectiveSetting(value=r.value, source=r.source,
                                            locked_at=r.locked_at)
                     for name, r in resolved.items()})

    def create_group(self, actor: str, name: str, members: list[str]) -> GroupInfo:
        info = GroupInfo(name=name.strip(), members=[m.lower() for m in members])
        with self.ctx.store.session() as s:
            refusal = policy.may_change("group", actor, self.ctx.store.role_of(s, actor), None)
            if refusal is not None:
                raise convert.refused(refusal)
            if s.get(GroupRow, info.name) is not None:
                raise DriverError("group_exists", f"there is already a group {info.name!r}")
            rows = [self.member(s, m) for m in info.members]
            for row in rows:
                if row.group:
                    raise DriverError("already_in_group",
                                      f"{row.email} is already in the group {row.group}")
            s.add(GroupRow(name=info.name, settings={}, locks=[]))
            for row in rows:
                row.group = info.name
        return info

    def settings_audit(self) -> list[SettingAuditEntry]:
        with self.ctx.store.session() as s:
            return [SettingAuditEntry(at=convert.aware(r.at), actor=r.actor, level=r.level,  # type: ignore[arg-type]
                                      target=r.target, setting=r.key,
                                      kind=r.kind, old=json.loads(r.old),  # type: ignore[arg-type]
                                      new=json.loads(r.new))
                    for r in self.ctx.store.settings_audit(s)]

"""What a user sees when signing in: the re-integration prompt after a lock or a domain change,
the SSO sign-in prompt to integrate Office 365, or the automatic integration upon login."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from harness.reference.policy.conformance import Conflict
from harness.reference.policy.versions import PROMPT_MIN_CLIENT, client_gets_prompt

Prompt = Literal["none", "reintegrate", "integrate_office365"]
MIN_CLIENT_TEXT = ".".join(map(str, PROMPT_MIN_CLIENT))


@dataclass(frozen=True, slots=True)
class SignInFacts:
    method: Literal["password", "sso"]
    first_sign_in: bool
    client_version: str
    connected: bool  # a working integration
    conflicts: tuple[Conflict, ...]  # an existing integration the policy no longer accepts
    ask_mode: str  # off | first_sign_in | every_sign_in
    auto_integrate: bool
    service: str  # the user's default calendar service


@dataclass(frozen=True, slots=True)
class PromptDecision:
    prompt: Prompt = "none"
    reason: str | None = None
    start_office365: bool = False  # redirect to the Office 365 OAuth URL now
    auto: bool = False


def decide(facts: SignInFacts) -> PromptDecision:
    if facts.conflicts:
        text = "; ".join(c.message for c in facts.conflicts)
        # The documents tie the client version only to the prompt after a lock.
        if any(c.kind != "lock" for c in facts.conflicts) or \
                client_gets_prompt(facts.client_version):
            return PromptDecision("reintegrate", f"{text}: set up the integration again")
        return PromptDecision(reason=f"{text}; client {facts.client_version} is older than "
                                     f"{MIN_CLIENT_TEXT}, so it shows no prompt")
    if facts.connected:
        return PromptDecision()
    if facts.method != "sso":
        return PromptDecision(reason="Office 365 sign-in prompts and automatic integration "
                                     "happen on sign-in with SSO")
    if facts.service != "office365":
        return PromptDecision(reason="sign-in prompts and automatic integration are available "
                                     "for Office 365 only")
    if facts.auto_integrate:
        return PromptDecision("integrate_office365", "automatic integration upon login",
                              start_office365=True, auto=True)
    if facts.ask_mode == "every_sign_in":
        return PromptDecision("integrate_office365", "asked at every sign-in until integrated",
                              start_office365=True)
    if facts.ask_mode == "first_sign_in":
        if facts.first_sign_in:
            return PromptDecision("integrate_office365", "asked at the first sign-in",
                                  start_office365=True)
        return PromptDecision(reason="asked at the first sign-in only; set up the integration "
                                     "manually from the profile")
    return PromptDecision()

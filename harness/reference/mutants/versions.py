"""Client-version and Exchange-build edges (LOCK-04, HYBRID-02)."""

from harness.reference.mutants.core import mutant
from harness.reference.policy import versions as v

V = "harness.reference.policy.versions"

MUTANTS = [
    mutant("prompt-version-off-by-one", "LOCK-04",
           "the re-integration prompt needs a client newer than 5.2.2, not 5.2.2 or newer",
           (f"{V}:client_gets_prompt", lambda _: lambda version: v.compare(
               v.parse_version(version), v.PROMPT_MIN_CLIENT) > 0)),
    mutant("prompt-version-as-text", "LOCK-04",
           "client versions compared as text: 5.10.0 counts as older than 5.2.2",
           (f"{V}:client_gets_prompt", lambda _: lambda version: version.strip() >= "5.2.2")),
    mutant("prompt-version-ignored", "LOCK-04",
           "every client shows the re-integration prompt after a lock, whatever its version",
           (f"{V}:client_gets_prompt", lambda _: lambda version: True)),
    mutant("prompt-version-major-minor", "LOCK-04",
           "only major.minor compared: 5.2.0 and 5.2.1 get the prompt",
           (f"{V}:client_gets_prompt", lambda _: lambda version: v.parse_version(version)[:2]
            >= v.PROMPT_MIN_CLIENT[:2])),
    mutant("cu3-off-by-one", "HYBRID-02",
           "a hybrid server exactly at Exchange 2016 CU3 is treated as older than CU3",
           (f"{V}:older_than_exchange_2016_cu3", lambda _: lambda build: v.compare(
               v.parse_version(build), v.EXCHANGE_2016_CU3) <= 0)),
    mutant("cu3-as-text", "HYBRID-02",
           "Exchange builds compared as text (15.1.1000.0 sorts before 15.1.544.27)",
           (f"{V}:older_than_exchange_2016_cu3",
            lambda _: lambda build: build.strip() < "15.1.544.27")),
]

"""Provider traffic: route real provider host names to the mocks through an in-process mitmproxy,
record each scenario's traffic (redacted) as evidence and vcrpy cassettes, audit it, and check a
cassette recorded elsewhere for drift against the mocks."""

"""How close the mocks are to the real services: their responses against the schemas the
services publish (`schemas`), and later against recorded traffic (drift reports)."""

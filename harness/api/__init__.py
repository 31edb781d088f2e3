"""The integration API's schema: the pydantic models and the one error every implementation of
the driver seam speaks. The reference implementation implements it directly; the driver seam
(`harness.driver`) and, later, the conformance API serve it. It imports nothing of the harness."""

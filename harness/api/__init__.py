"""The integration API's schema: the pydantic models and the one error every implementation of
the driver seam speaks, the capabilities an implementation claims and the conformance API's own
bodies. The reference implementation implements it directly; the driver seam (`harness.driver`)
and the conformance API (`harness.conformance`) serve it. It imports nothing else of the
harness."""

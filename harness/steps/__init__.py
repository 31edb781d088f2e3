"""Step definitions. They act only through the driver seam (`ctx.driver`), the harness's user
agent and the mock hub's control API (`ctx.control`) — never through the reference
implementation — so the same steps judge any integration under test."""

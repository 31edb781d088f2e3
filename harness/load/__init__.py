"""Load scenarios for the sync core (docs/load.md): the simulated integration, the seeded and
sharded hub, fault plans, the `calharness load` runner and its report. Nothing here imports
Locust or gevent: the locustfiles in scenarios/ are thin layers over this package, and the load
runner starts Locust as subprocesses."""

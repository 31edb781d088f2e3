"""pytest-bdd integration: feature collection, scenario context and result recording."""

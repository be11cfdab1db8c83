"""ganmc's Hydra sweeper (``hydra/sweeper=ganmc``, the default of every ganmc command): Hydra's
basic sweeper that also checks, once the jobs end, that each one left its ``record.json``."""

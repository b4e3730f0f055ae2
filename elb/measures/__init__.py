"""Pure analysis functions: probes, statistics, length control, Phase 2 measurements."""

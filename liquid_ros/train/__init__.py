"""Imitation learning: datasets, sequence batches, the BPTT trainer, imitation and DAgger."""

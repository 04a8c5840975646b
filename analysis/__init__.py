"""Reads run and sweep directories (result files only, never the training code) into tables."""

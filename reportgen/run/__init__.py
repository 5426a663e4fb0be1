"""Stage 2: training. Executes planned runs (serial, processes, Ray), trains, probes, stores."""

"""Training: the options, the budget and when it stops, the recipe, planning a run, one update,
the loop around it, checkpoints, the training record they keep, and run directories. Stands on
the learner's modules (model, teacher_forcing, sampling, scheduled_sampling) and below."""

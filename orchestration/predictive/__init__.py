"""Predictive traits and machine-found personas: pure Python over feature frames (pandas), no I/O but the
warehouse reads and writes in `warehouse.py`.

    settings = load_settings()                      # brands, goals (validated), cutoff, from dbt_project.yml
    training, scoring = read_features(con)          # int_profile_features, one frame per feature_set
    run = run_models(training, scoring, settings, seed=7, previous_personas=previous_personas(con))
    publish(con, run, settings, run_id, scored_at, cutoff, columns)
                                                    # profile_predictions (kept columns stay) + model_runs

Every model reports its quality next to a trivial baseline; a model no better than its baseline, or one
skipped for too few labels or a single class, is not published: its columns keep their previous values.
"""

"""What a run is made of, with no host in it: the model, errors, labs, runs, waits, evidence, replays."""

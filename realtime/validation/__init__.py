"""Motion-capture ground truth and the validation harness for the metrics stage."""

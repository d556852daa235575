"""Reports on recorded sessions, for the runner's therapist, readable without the program.

`change` decides whether a metric really changed between two sessions (the smallest
detectable difference rule); `html` writes one session, or two sessions compared with the
runner's progress, as a single self-contained HTML file (figures embedded as PNG, no
scripts, no network), so that it can be mailed, archived or printed as it is.
"""
